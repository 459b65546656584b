/**
 * Turning a node into a scrubber (`--scrub`): scrub duty with each owner's contracts and
 * placement hints under `<dir>/scrub/<owner>/` (memory for in-memory nodes), on the same schedule
 * as the node's own audits.
 */
import { Scrubber, SCRUBBER_DEFAULTS } from "../scrub/mod.ts";
import type { MoteNode } from "./node.ts";
import { dirState, memoryState, type NodeState } from "./state.ts";

/** When scrub rounds run and when a supplier counts as lost (ms). */
export interface ScrubSchedule {
  /** Time between rounds; 0 falls back to the default (hourly). */
  interval: number;
  lostAfter: number;
}

/** Starts scrub duty on a node. */
export async function startScrub(
  node: MoteNode,
  state: NodeState,
  dir: string | null,
  schedule: ScrubSchedule,
): Promise<Scrubber> {
  const interval = schedule.interval > 0 ? schedule.interval : SCRUBBER_DEFAULTS.interval;
  const states = new Map<string, NodeState>();
  const scrubber = new Scrubber(node, state, {
    ...SCRUBBER_DEFAULTS,
    interval,
    lostAfter: schedule.lostAfter,
    // The next scrubber in line waits a few rounds before taking over a repair.
    takeover: Math.min(SCRUBBER_DEFAULTS.takeover, 3 * interval),
    stateFor: (owner) => {
      let s = states.get(owner);
      if (!s) states.set(owner, s = dir ? dirState(`${dir}/scrub/${owner}`) : memoryState());
      return s;
    },
  });
  await scrubber.start();
  return scrubber;
}
