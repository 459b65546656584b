// This module is browser compatible.
/**
 * The Sharing page's groups: the owner's groups with their members (add, remove: a removal
 * starts a new epoch and re-keys what the group could read), creating one, and the groups this
 * node found itself in while reading others' shares.
 */
import { useState } from "preact/hooks";
import { send } from "../api.ts";
import { OutcomeNote, useAction } from "../action.tsx";
import { short } from "../format.ts";
import { groupNameProblem, type GroupRow, type Groups, idProblem } from "../perms.ts";
import { Card, Empty, ErrorNote, Loading } from "../ui.tsx";

/** The groups card; `onChange` reloads what a membership change may re-key (the shares). */
export function GroupsCard(props: {
  groups: { data: Groups | undefined; error: string | undefined; reload: () => void };
  onChange: () => void;
}) {
  const { groups } = props;
  const changed = () => {
    groups.reload();
    props.onChange();
  };
  const owned = groups.data?.owned;
  const memberOf = groups.data?.memberOf ?? [];
  return (
    <Card title="Groups" id="h-groups">
      <ErrorNote error={groups.error} onRetry={groups.reload} />
      {!groups.data ? (groups.error ? null : <Loading />) : owned === null
        ? (
          <p class="note info">
            This node's storage is not ready yet, so your groups (kept in it) cannot be read. This
            page tries again every 30 seconds.
          </p>
        )
        : owned!.length === 0
        ? <Empty>You have no groups yet. Create one below.</Empty>
        : (
          <ul class="plain" data-testid="groups">
            {owned!.map((g) => <GroupItem key={g.name} group={g} onChange={changed} />)}
          </ul>
        )}
      {owned !== null && <CreateGroup onDone={groups.reload} />}
      {memberOf.length > 0 && (
        <>
          <h3>Groups you are in</h3>
          <ul class="plain" data-testid="member-of">
            {memberOf.map((m) => (
              <li key={`${m.owner}/${m.name}`}>
                <strong>{m.name}</strong> of <code title={m.owner}>{short(m.owner)}</code>,{" "}
                {m.members} member{m.members === 1 ? "" : "s"}
              </li>
            ))}
          </ul>
        </>
      )}
    </Card>
  );
}

function GroupItem(props: { group: GroupRow; onChange: () => void }) {
  const g = props.group;
  const [id, setId] = useState("");
  const act = useAction();
  const add = (e: Event) => {
    e.preventDefault();
    const problem = idProblem(id);
    if (problem) return act.fail(problem);
    void act.run("add", async () => {
      await send("POST", `/api/v1/groups/${encodeURIComponent(g.name)}/members`, { id });
      setId("");
      props.onChange();
      return `Added ${short(id)} to ${g.name}.`;
    });
  };
  const remove = (member: string) => {
    if (
      !confirm(
        `Remove ${member} from ${g.name}? The group gets a new key, and everything it could read ` +
          "is re-keyed for the remaining members. What was already downloaded cannot be unread.",
      )
    ) return;
    void act.run(`rm:${member}`, async () => {
      await send("DELETE", `/api/v1/groups/${encodeURIComponent(g.name)}/members/${member}`);
      props.onChange();
      return `Removed ${short(member)} from ${g.name}; the group and what it reads were re-keyed.`;
    });
  };
  const fieldId = `add-${g.name.replace(/\W/g, "-")}`;
  return (
    <li data-group={g.name}>
      <h3>
        {g.name} <span class="muted">epoch {g.epoch}</span>
      </h3>
      <ul class="plain">
        {g.members.map((m) => (
          <li key={m} class="actions">
            <code class="id">{m}</code>
            {m === g.owner ? <span class="muted">(you, the owner)</span> : (
              <button
                type="button"
                class="danger"
                disabled={act.busy !== undefined}
                aria-label={`Remove ${m} from ${g.name}`}
                onClick={() => remove(m)}
              >
                {act.busy === `rm:${m}` ? "Removing…" : "Remove (re-keys)"}
              </button>
            )}
          </li>
        ))}
      </ul>
      <form class="row" onSubmit={add} noValidate>
        <label for={fieldId}>Add a member</label>
        <input
          id={fieldId}
          type="text"
          autoComplete="off"
          spellcheck={false}
          placeholder="node id"
          maxLength={52}
          value={id}
          onInput={(e) => setId((e.currentTarget as HTMLInputElement).value.trim())}
        />
        <button type="submit" disabled={act.busy !== undefined}>
          {act.busy === "add" ? "Adding…" : "Add"}
        </button>
      </form>
      <OutcomeNote outcome={act.outcome} />
    </li>
  );
}

function CreateGroup(props: { onDone: () => void }) {
  const [name, setName] = useState("");
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const problem = groupNameProblem(name);
    if (problem) return act.fail(problem);
    void act.run("create", async () => {
      await send("POST", "/api/v1/groups", { name });
      setName("");
      props.onDone();
      return `Created the group ${name}. Add members by their node ids.`;
    });
  };
  return (
    <form class="row" onSubmit={submit} noValidate data-testid="create-group">
      <label for="group-name">New group</label>
      <input
        id="group-name"
        type="text"
        autoComplete="off"
        spellcheck={false}
        placeholder="family"
        maxLength={64}
        value={name}
        onInput={(e) => setName((e.currentTarget as HTMLInputElement).value.trim())}
      />
      <button type="submit" disabled={act.busy !== undefined}>
        {act.busy ? "Creating…" : "Create group"}
      </button>
      <OutcomeNote outcome={act.outcome} />
    </form>
  );
}
