import { join } from "node:path";
import {
  ConfigError,
  configTemplate,
  DEFAULTS,
  formatDuration,
  formatSize,
  loadConfig,
  OPTIONS,
  parseDuration,
  parseSize,
  resolveAuto,
  resolveDataDir,
  updateConfigFile,
} from "../src/config/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";

const KiB = 1024, MiB = 1024 ** 2, GiB = 1024 ** 3, TiB = 1024 ** 4;
const S = 1000, M = 60 * S, H = 60 * M, D = 24 * H;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mote_config_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function withConfigFile(
  content: unknown,
  fn: (dir: string, file: string) => Promise<void>,
): Promise<void> {
  await withDir(async (dir) => {
    const file = join(dir, "config.json");
    await Deno.writeTextFile(
      file,
      typeof content === "string" ? content : JSON.stringify(content, null, 2),
    );
    await fn(dir, file);
  });
}

// ---------------------------------------------------------------------------------------------
// units

Deno.test("parseSize() reads binary and decimal units", async (t) => {
  const cases: [string | number, number][] = [
    ["0", 0],
    ["123", 123],
    [123, 123],
    ["512B", 512],
    ["100KiB", 100 * KiB],
    ["512MiB", 512 * MiB],
    ["10GiB", 10 * GiB],
    ["2TiB", 2 * TiB],
    ["1KB", 1000],
    ["1.5GB", 1_500_000_000],
    ["1.1KB", 1100],
    ["3TB", 3e12],
    ["10 MiB", 10 * MiB],
    ["10mib", 10 * MiB],
    ["10GIB", 10 * GiB],
    ["1.5 GiB", 1.5 * GiB],
    ["  7 kb ", 7000],
    ["8191TiB", 8191 * TiB],
  ];
  for (const [text, bytes] of cases) {
    await t.step(`${JSON.stringify(text)} is ${bytes} bytes`, () => {
      assertEquals(parseSize(text), bytes);
    });
  }
});

Deno.test("parseSize() rejects bad sizes and names the bad value", async (t) => {
  const cases: [string | number, typeof SyntaxError | typeof RangeError, string][] = [
    ["10XB", SyntaxError, 'Cannot parse size "10XB": unknown unit "XB"'],
    ["", SyntaxError, 'Cannot parse size "": it is empty'],
    ["   ", SyntaxError, "it is empty"],
    ["abc", SyntaxError, '"abc"'],
    ["MiB", SyntaxError, '"MiB"'],
    ["1,5GiB", SyntaxError, '"1,5GiB"'],
    [".5GiB", SyntaxError, '".5GiB"'],
    ["1e3", SyntaxError, '"1e3"'],
    ["constructor", SyntaxError, '"constructor"'],
    ["-1", RangeError, 'Cannot parse size "-1": a size cannot be negative'],
    ["-5MiB", RangeError, '"-5MiB"'],
    ["1.5B", RangeError, '"1.5B": it is not a whole number of bytes'],
    ["0.1KiB", RangeError, '"0.1KiB"'],
    ["8192TiB", RangeError, '"8192TiB": it is larger than 2^53-1 bytes'],
    [-1, RangeError, "Cannot use size -1"],
    [1.5, RangeError, "Cannot use size 1.5"],
    [NaN, RangeError, "Cannot use size NaN"],
    [Infinity, RangeError, "Cannot use size Infinity"],
  ];
  for (const [text, cls, message] of cases) {
    await t.step(`${JSON.stringify(text) ?? String(text)} throws ${cls.name}`, () => {
      assertThrows(() => parseSize(text), cls, message);
    });
  }
});

Deno.test("formatSize() writes the largest binary unit with up to two decimals", async (t) => {
  const cases: [number, string][] = [
    [0, "0 B"],
    [512, "512 B"],
    [1023, "1023 B"],
    [1024, "1 KiB"],
    [1536, "1.5 KiB"],
    [10 * MiB, "10 MiB"],
    [1.5 * GiB, "1.5 GiB"],
    [MiB - 1, "1 MiB"], // 1023.999 KiB rounds up into the next unit
    [5 * TiB, "5 TiB"],
    [2048 * TiB, "2 PiB"],
  ];
  for (const [bytes, text] of cases) {
    await t.step(`${bytes} is "${text}"`, () => assertEquals(formatSize(bytes), text));
  }
  await t.step("it rejects negative and fractional counts", () => {
    assertThrows(() => formatSize(-1), RangeError, "Cannot format size -1");
    assertThrows(() => formatSize(0.5), RangeError, "Cannot format size 0.5");
  });
});

Deno.test("formatSize() output reads back through parseSize() exactly", () => {
  for (let i = 0; i < 2000; i++) {
    const unit = 1024 ** Math.floor(Math.random() * 5);
    const hundredths = 1 + Math.floor(Math.random() * 102_300);
    if (hundredths * unit > Number.MAX_SAFE_INTEGER) continue; // keep the arithmetic exact
    const bytes = unit === 1 ? Math.floor(hundredths / 100) : (hundredths * unit) / 100;
    if (!Number.isInteger(bytes)) continue;
    assertEquals(parseSize(formatSize(bytes)), bytes, `round trip of ${bytes}`);
  }
});

Deno.test("parseDuration() reads units, compounds and plain milliseconds", async (t) => {
  const cases: [string | number, number][] = [
    ["0", 0],
    ["250", 250],
    [250, 250],
    [1.4, 1],
    ["250ms", 250],
    ["5s", 5 * S],
    ["1.5s", 1500],
    ["2m", 2 * M],
    ["1h", H],
    ["36h", 36 * H],
    ["7d", 7 * D],
    ["1h30m", H + 30 * M],
    ["1d2h3m4s5ms", D + 2 * H + 3 * M + 4 * S + 5],
    ["1h 30m", H + 30 * M],
    [" 5 s ", 5 * S],
  ];
  for (const [text, ms] of cases) {
    await t.step(`${JSON.stringify(text)} is ${ms} ms`, () => {
      assertEquals(parseDuration(text), ms);
    });
  }
});

Deno.test("parseDuration() rejects bad durations and names the bad value", async (t) => {
  const cases: [string | number, typeof SyntaxError | typeof RangeError, string][] = [
    ["", SyntaxError, 'Cannot parse duration "": it is empty'],
    ["5x", SyntaxError, 'Cannot parse duration "5x": unknown unit "x"'],
    ["5S", SyntaxError, 'unknown unit "S"'],
    ["1M", SyntaxError, 'unknown unit "M"'],
    ["1h30", SyntaxError, '"1h30": "30" has no unit'],
    ["h", SyntaxError, 'Cannot parse duration "h"'],
    ["1h-5m", SyntaxError, '"1h-5m"'],
    ["-5s", RangeError, 'Cannot parse duration "-5s": a duration cannot be negative'],
    ["-1", RangeError, '"-1"'],
    ["99999999999d", RangeError, '"99999999999d": it is too large'],
    [-1, RangeError, "Cannot use duration -1"],
    [NaN, RangeError, "Cannot use duration NaN"],
    [Infinity, RangeError, "Cannot use duration Infinity"],
  ];
  for (const [text, cls, message] of cases) {
    await t.step(`${JSON.stringify(text) ?? String(text)} throws ${cls.name}`, () => {
      assertThrows(() => parseDuration(text), cls, message);
    });
  }
});

Deno.test("formatDuration() writes compact unit pairs that read back exactly", async (t) => {
  const cases: [number, string][] = [
    [0, "0ms"],
    [250, "250ms"],
    [5 * S, "5s"],
    [H + 30 * M, "1h30m"],
    [36 * H, "1d12h"],
    [7 * D + 5, "7d5ms"],
  ];
  for (const [ms, text] of cases) {
    await t.step(`${ms} ms is "${text}"`, () => assertEquals(formatDuration(ms), text));
  }
  await t.step("random durations round-trip", () => {
    for (let i = 0; i < 2000; i++) {
      const ms = Math.floor(Math.random() * 10 ** Math.floor(Math.random() * 13));
      assertEquals(parseDuration(formatDuration(ms)), ms, `round trip of ${ms}`);
    }
  });
  await t.step("it rejects negative and fractional values", () => {
    assertThrows(() => formatDuration(-1), RangeError, "Cannot format duration -1");
    assertThrows(() => formatDuration(1.5), RangeError, "Cannot format duration 1.5");
  });
});

// ---------------------------------------------------------------------------------------------
// schema

Deno.test("OPTIONS derives env names and flags from the keys", () => {
  const byKey = Object.fromEntries(OPTIONS.map((o) => [o.key, o]));
  assertEquals(byKey.gatewayPort?.env, "MOTE_GATEWAY_PORT");
  assertEquals(byKey.gatewayPort?.flag, "--gateway-port");
  assertEquals(byKey.p2pPort?.flag, "--p2p-port");
  assertEquals(byKey.maxRecordsPerSigner?.env, "MOTE_MAX_RECORDS_PER_SIGNER");
  assertEquals(byKey.apiHost?.flag, null, "apiHost must have no flag");
  assertEquals(byKey.apiHost?.env, "MOTE_API_HOST");
  assertEquals(new Set(OPTIONS.map((o) => o.key)).size, OPTIONS.length);
});

Deno.test("DEFAULTS holds every option's default in bytes and milliseconds", () => {
  assertEquals({ ...DEFAULTS }, {
    nickname: "",
    host: "127.0.0.1",
    apiHost: "127.0.0.1",
    apiPassword: "",
    port: 8180,
    gatewayPort: 8181,
    p2pPort: 8182,
    wsPort: null,
    bootstrap: [],
    devnet: null,
    devnetSuppliers: 8,
    logLevel: "info",
    logFileSize: 10 * MiB,
    recordLifetime: 36 * H,
    republishInterval: H,
    announce: [],
    gatewayUrls: [],
    maxRecords: 100_000,
    maxRecordsPerSigner: 1024,
    rateLimit: 100,
    supply: 0,
    supplyStore: { driver: "fs", options: {} },
    devnetSupply: 10 * 1024 ** 3,
    supplierCount: 6,
    auditInterval: 3_600_000,
    lostAfter: 4 * 3_600_000,
    scrub: false,
    scrubbers: 0,
    scrubExpiry: 90 * 86_400_000,
  });
});

Deno.test("resolveAuto() works out wsPort and devnet", async (t) => {
  const cases: [string, Partial<typeof DEFAULTS>, { wsPort: number; devnet: boolean }][] = [
    ["defaults", {}, { wsPort: 8183, devnet: true }],
    ["p2pPort 0", { p2pPort: 0 }, { wsPort: 0, devnet: true }],
    ["explicit", { wsPort: 9000, devnet: false }, { wsPort: 9000, devnet: false }],
    ["bootstrap given", { bootstrap: ["/ip4/1.2.3.4/tcp/1/p2p/X"] }, {
      wsPort: 8183,
      devnet: false,
    }],
  ];
  for (const [name, change, expected] of cases) {
    await t.step(name, () => {
      const config = resolveAuto({ ...DEFAULTS, ...change });
      assertEquals({ wsPort: config.wsPort, devnet: config.devnet }, expected);
    });
  }
});

Deno.test("configTemplate() lists every key at its default, in order, and loads", async () => {
  const template = configTemplate();
  const parsed = JSON.parse(template);
  assertEquals(Object.keys(parsed), OPTIONS.map((o) => o.key));
  assertEquals(parsed.logFileSize, "10MiB");
  assertEquals(parsed.recordLifetime, "36h");
  await withConfigFile(template, async (dataDir) => {
    const { config, sources } = await loadConfig({ dataDir });
    assertEquals(config, resolveAuto({ ...DEFAULTS }));
    assert(Object.values(sources).every((s) => s === "file"));
  });
});

Deno.test("docs/config.md documents every option exactly as schema.ts describes it", async () => {
  const doc = await Deno.readTextFile(new URL("../docs/config.md", import.meta.url));
  const rows = new Map<string, string[]>();
  for (const line of doc.split("\n")) {
    if (!line.startsWith("| `")) continue;
    const cells = line.split("|").slice(1, -1).map((cell) => cell.trim());
    rows.set(cells[0] ?? "", cells);
  }
  for (const option of OPTIONS) {
    assert(doc.includes(`"${option.key}"`), `example config.json lacks ${option.key}`);
    assertEquals(rows.get(`\`${option.key}\``), [
      `\`${option.key}\``,
      option.type,
      `\`${JSON.stringify(option.default)}\``,
      option.flag ? `\`${option.flag}\`` : "—",
      `\`${option.env}\``,
      option.description,
    ], `docs/config.md row for ${option.key}`);
  }
  assertEquals(
    [...rows.keys()].filter((k) => k.startsWith("`")).length,
    OPTIONS.length,
    "docs/config.md has rows for options schema.ts does not know",
  );
  assert(doc.includes(configTemplate().trim()), "docs/config.md example is not configTemplate()");
});

// ---------------------------------------------------------------------------------------------
// loadConfig

Deno.test("loadConfig() returns the defaults when there is no config file", async () => {
  await withDir(async (dataDir) => {
    const { config, sources, file } = await loadConfig({ dataDir, env: {}, flags: {} });
    assertEquals(file, join(dataDir, "config.json"));
    assertEquals(config, resolveAuto({ ...DEFAULTS }));
    assertEquals(config.wsPort, 8183);
    assertEquals(config.devnet, true);
    assert(Object.values(sources).every((s) => s === "default"));
    config.bootstrap.push("/x/p2p/y"); // the result is the caller's to change
    assertEquals(DEFAULTS.bootstrap, []);
  });
});

Deno.test("loadConfig() lets flags beat env, env beat the file and the file beat defaults", async (t) => {
  const layers = {
    file: { port: 1001, logFileSize: "1MiB", bootstrap: ["/ip4/1.1.1.1/tcp/1/p2p/FILE"] },
    env: { MOTE_PORT: "1002", MOTE_LOG_FILE_SIZE: "2MiB" },
    flags: { port: 1003 },
  };
  const cases: [string, boolean, boolean, boolean, number, string][] = [
    ["defaults only", false, false, false, 8180, "default"],
    ["file over defaults", true, false, false, 1001, "file"],
    ["env over file", true, true, false, 1002, "env"],
    ["flag over env", true, true, true, 1003, "flag"],
    ["flag over file", true, false, true, 1003, "flag"],
    ["env over defaults", false, true, false, 1002, "env"],
  ];
  for (const [name, useFile, useEnv, useFlags, port, source] of cases) {
    await t.step(name, async () => {
      await withDir(async (dataDir) => {
        if (useFile) {
          await Deno.writeTextFile(join(dataDir, "config.json"), JSON.stringify(layers.file));
        }
        const { config, sources } = await loadConfig({
          dataDir,
          env: useEnv ? layers.env : {},
          flags: useFlags ? layers.flags : {},
        });
        assertEquals(config.port, port);
        assertEquals(sources.port, source);
        assertEquals(sources.host, "default");
        if (useFile) assertEquals(config.bootstrap, layers.file.bootstrap);
        assertEquals(config.devnet, !useFile, "devnet is on only without bootstrap");
        assertEquals(config.logFileSize, useEnv ? 2 * MiB : useFile ? MiB : 10 * MiB);
      });
    });
  }
});

Deno.test("loadConfig() reads sizes, durations and nulls from config.json", async () => {
  await withConfigFile({
    logFileSize: "1.5 MiB",
    recordLifetime: "2d",
    republishInterval: 60_000,
    wsPort: null,
    devnet: false,
    p2pPort: 0,
    gatewayUrls: ["https://a.example/", "http://b.example:8181"],
    announce: ["/dns4/a.example/tcp/8182"],
  }, async (dataDir) => {
    const { config } = await loadConfig({ dataDir });
    assertEquals(config.logFileSize, 1.5 * MiB);
    assertEquals(config.recordLifetime, 2 * D);
    assertEquals(config.republishInterval, M);
    assertEquals(config.wsPort, 0);
    assertEquals(config.devnet, false);
    assertEquals(config.gatewayUrls, ["https://a.example/", "http://b.example:8181"]);
  });
});

Deno.test("loadConfig() reads environment variables as text", async (t) => {
  const cases: [string, Record<string, string>, Record<string, unknown>][] = [
    ["lists are comma-separated", {
      MOTE_BOOTSTRAP: " /ip4/1.2.3.4/tcp/1/p2p/A , /ip4/1.2.3.5/tcp/1/p2p/B,",
    }, { bootstrap: ["/ip4/1.2.3.4/tcp/1/p2p/A", "/ip4/1.2.3.5/tcp/1/p2p/B"], devnet: false }],
    ["1 is true", { MOTE_DEVNET: "1" }, { devnet: true }],
    ["0 is false", { MOTE_DEVNET: "0" }, { devnet: false }],
    ["FALSE is false", { MOTE_DEVNET: "FALSE" }, { devnet: false }],
    ["auto is automatic", { MOTE_DEVNET: "auto", MOTE_WS_PORT: "auto" }, {
      devnet: true,
      wsPort: 8183,
    }],
    ["numbers and durations", { MOTE_WS_PORT: "9000", MOTE_REPUBLISH_INTERVAL: "30m" }, {
      wsPort: 9000,
      republishInterval: 30 * M,
    }],
    ["an empty variable counts as unset", { MOTE_PORT: "", MOTE_NICKNAME: "" }, {
      port: 8180,
    }],
    ["other names are ignored", { PORT: "1", MOTE_DATA: "/x", MOTE_UNKNOWN: "1" }, {
      port: 8180,
    }],
    ["loopback API hosts", { MOTE_API_HOST: "127.1.2.3" }, { apiHost: "127.1.2.3" }],
    ["localhost", { MOTE_API_HOST: "localhost" }, { apiHost: "localhost" }],
    ["IPv6 loopback", { MOTE_API_HOST: "::1" }, { apiHost: "::1" }],
    [
      "any address with a password",
      { MOTE_API_HOST: "0.0.0.0", MOTE_API_PASSWORD: "correct horse battery" },
      { apiHost: "0.0.0.0", apiPassword: "correct horse battery" },
    ],
  ];
  for (const [name, env, expected] of cases) {
    await t.step(name, async () => {
      await withDir(async (dataDir) => {
        const { config } = await loadConfig({ dataDir, env });
        const picked = Object.fromEntries(
          Object.keys(expected).map((k) => [k, config[k as keyof typeof config]]),
        );
        assertEquals(picked, expected);
      });
    });
  }
});

Deno.test("loadConfig() reads string flags like env and other flags like JSON", async () => {
  await withDir(async (dataDir) => {
    const { config, sources } = await loadConfig({
      dataDir,
      flags: {
        port: "0",
        logLevel: "debug",
        logFileSize: "20MiB",
        bootstrap: ["/ip4/1.2.3.4/tcp/1/p2p/A"],
        devnet: true,
        nickname: undefined,
      },
    });
    assertEquals(config.port, 0);
    assertEquals(config.logLevel, "debug");
    assertEquals(config.logFileSize, 20 * MiB);
    assertEquals(config.devnet, true);
    assertEquals(sources.nickname, "default");
    assertEquals(sources.devnet, "flag");
  });
});

Deno.test("loadConfig() reads supplyStore from config.json and from MOTE_SUPPLY_STORE as JSON", async () => {
  const store = { driver: "fs-lite", options: { base: "shards-lite" } };
  await withConfigFile({ supplyStore: store }, async (dataDir) => {
    const { config, sources } = await loadConfig({ dataDir });
    assertEquals([config.supplyStore, sources.supplyStore], [store, "file"]);
    const env = { MOTE_SUPPLY_STORE: '{"driver":"memory"}' };
    const fromEnv = await loadConfig({ dataDir, env });
    assertEquals([fromEnv.config.supplyStore, fromEnv.sources.supplyStore], [
      { driver: "memory" },
      "env",
    ]);
    await assertRejects(
      () => loadConfig({ dataDir, env: { MOTE_SUPPLY_STORE: "memory" } }),
      ConfigError,
      'Invalid value for MOTE_SUPPLY_STORE: expected a JSON object, as JSON text, received "memory"',
    );
    await assertRejects(
      () => loadConfig({ dataDir, flags: { supplyStore: '{"driver":"memory"}' } }),
      ConfigError,
      'Option "supplyStore" has no command-line flag',
    );
  });
  await withDir(async (dataDir) => {
    const { config } = await loadConfig({ dataDir });
    config.supplyStore.options!.base = "/elsewhere"; // the result is the caller's to change
    assertEquals(DEFAULTS.supplyStore, { driver: "fs", options: {} });
  });
});

Deno.test("loadConfig() rejects unknown keys and lists the known ones", async () => {
  await withConfigFile({ port: 1, prot: 2, gateway_port: 3 }, async (dataDir, file) => {
    const error = await assertRejects(() => loadConfig({ dataDir }), ConfigError, file);
    assert(error.message.includes("Unknown options in"), error.message);
    assert(error.message.includes('"prot"'), error.message);
    assert(error.message.includes('"gateway_port" (did you mean "gatewayPort"?)'), error.message);
    assert(error.message.includes("known options: nickname, host,"), error.message);
    assert(!error.message.includes('"port"'), error.message);
    assertEquals(error.name, "ConfigError");
  });
});

Deno.test("loadConfig() rejects values of the wrong type, naming key, type and value", async (t) => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["port as a string", { port: "8180" }, '"port" in '],
    [
      "port out of range",
      { port: 70000 },
      "expected a port (an integer from 0 to 65535), received 70000",
    ],
    ["fractional port", { gatewayPort: 80.5 }, "received 80.5"],
    ["null for a non-nullable option", { port: null }, "received null"],
    ["host as a number", { host: 1 }, "expected a string, received 1"],
    ["empty host", { host: " " }, "the address is empty"],
    [
      "bootstrap as a string",
      { bootstrap: "/ip4/1.2.3.4" },
      'expected an array of strings, received "/ip4/1.2.3.4"',
    ],
    ["bootstrap with a number", { bootstrap: [1] }, "received [1]"],
    [
      "bootstrap without /p2p/",
      { bootstrap: ["/ip4/1.2.3.4/tcp/1"] },
      '"/ip4/1.2.3.4/tcp/1" is not a multiaddr with a /p2p/',
    ],
    ["bootstrap not a multiaddr", { bootstrap: ["1.2.3.4/p2p/X"] }, '"1.2.3.4/p2p/X"'],
    ["announce not a multiaddr", { announce: ["example.org"] }, 'announce address "example.org"'],
    [
      "gateway URL not http",
      { gatewayUrls: ["ftp://a.example"] },
      '"ftp://a.example" is not an http(s) URL',
    ],
    ["gateway URL not a URL", { gatewayUrls: ["a.example"] }, '"a.example"'],
    [
      "devnet as a string",
      { devnet: "yes" },
      'expected true or false, or null (automatic), received "yes"',
    ],
    [
      "devnetSuppliers too big",
      { devnetSuppliers: 65 },
      "expected an integer from 1 to 64, received 65",
    ],
    ["devnetSuppliers fractional", { devnetSuppliers: 1.5 }, "received 1.5"],
    ["rateLimit zero", { rateLimit: 0 }, "expected an integer of at least 1, received 0"],
    ["maxRecords negative", { maxRecords: -1 }, "received -1"],
    [
      "logLevel unknown",
      { logLevel: "verbose" },
      'expected one of debug, info, warn, error, received "verbose"',
    ],
    ["logFileSize unit", { logFileSize: "10XB" }, 'Cannot parse size "10XB": unknown unit "XB"'],
    ["logFileSize too small", { logFileSize: "1KB" }, 'of at least 1 KiB, received "1KB"'],
    ["logFileSize as a boolean", { logFileSize: true }, "received true"],
    ["recordLifetime unit", { recordLifetime: "36 hours" }, 'unknown unit "hours"'],
    ["recordLifetime negative", { recordLifetime: -5 }, "Cannot use duration -5"],
    ["republishInterval zero", { republishInterval: "0s" }, 'of at least 1s, received "0s"'],
    ["apiPassword too short", { apiPassword: "short" }, "12 to 1024 characters"],
    ["supplyStore as a string", { supplyStore: "fs" }, 'expected a JSON object, received "fs"'],
    ["supplyStore as an array", { supplyStore: [] }, "expected a JSON object, received []"],
    ["supplyStore without a driver", { supplyStore: {} }, "received undefined"],
    [
      "supplyStore driver as a path",
      { supplyStore: { driver: "../../evil" } },
      'an unstorage driver name (lower-case letters, digits and -, like "fs-lite"), received "../../evil"',
    ],
    ["supplyStore driver with a slash", { supplyStore: { driver: "fs/x" } }, '"fs/x"'],
    ["supplyStore driver upper case", { supplyStore: { driver: "Redis" } }, '"Redis"'],
    ["supplyStore driver too long", { supplyStore: { driver: "a".repeat(49) } }, "received"],
    [
      "supplyStore unknown key",
      { supplyStore: { driver: "memory", option: {} } },
      'unknown key "option"; a supply store has "driver" and "options"',
    ],
    [
      "supplyStore options as a string",
      { supplyStore: { driver: "fs-lite", options: "/srv" } },
      '"options" must be an object, received "/srv"',
    ],
    [
      "supplyStore options too long",
      { supplyStore: { driver: "s3", options: { x: "y".repeat(17_000) } } },
      '"options" is longer than 16384 bytes',
    ],
    [
      "supplyStore fs with a foreign option",
      { supplyStore: { driver: "fs", options: { fsync: false } } },
      'the fs store takes only "base", not "fsync"',
    ],
    [
      "supplyStore fs base not a path",
      { supplyStore: { driver: "fs", options: { base: 3 } } },
      '"base" must be a directory path',
    ],
  ];
  for (const [name, content, message] of cases) {
    await t.step(name, async () => {
      await withConfigFile(content, async (dataDir, file) => {
        const key = Object.keys(content)[0];
        const error = await assertRejects(() => loadConfig({ dataDir }), ConfigError, message);
        assert(error.message.includes(`Invalid value for "${key}" in ${file}`), error.message);
      });
    });
  }
});

Deno.test("loadConfig() names the environment variable or flag that holds a bad value", async (t) => {
  const cases: [string, Record<string, string>, Record<string, unknown>, string][] = [
    [
      "env port",
      { MOTE_PORT: "http" },
      {},
      'Invalid value for MOTE_PORT: expected a port (an integer from 0 to 65535), received "http"',
    ],
    [
      "env boolean",
      { MOTE_DEVNET: "yes" },
      {},
      'Invalid value for MOTE_DEVNET: expected true, false, 1 or 0, or "auto", received "yes"',
    ],
    [
      "env size",
      { MOTE_LOG_FILE_SIZE: "lots" },
      {},
      'Invalid value for MOTE_LOG_FILE_SIZE: Cannot parse size "lots"',
    ],
    [
      "env API host",
      { MOTE_API_HOST: "192.168.1.2" },
      {},
      'apiHost "192.168.1.2" (from MOTE_API_HOST) is not a loopback address',
    ],
    [
      "env bootstrap",
      { MOTE_BOOTSTRAP: "/ip4/1.2.3.4/tcp/1" },
      {},
      "Invalid value for MOTE_BOOTSTRAP",
    ],
    [
      "flag port",
      {},
      { port: -1 },
      "Invalid value for --port: expected a port (an integer from 0 to 65535), received -1",
    ],
    [
      "flag duration",
      {},
      { recordLifetime: "forever" },
      'Invalid value for --record-lifetime: Cannot parse duration "forever"',
    ],
    [
      "unknown flag",
      {},
      { colour: true },
      'Unknown option "colour" in flags; known options: nickname',
    ],
    [
      "apiHost flag",
      {},
      { apiHost: "127.0.0.1" },
      'Option "apiHost" has no command-line flag; set it in config.json or MOTE_API_HOST',
    ],
  ];
  for (const [name, env, flags, message] of cases) {
    await t.step(name, async () => {
      await withDir(async (dataDir) => {
        await assertRejects(() => loadConfig({ dataDir, env, flags }), ConfigError, message);
      });
    });
  }
});

Deno.test("loadConfig() requires republishInterval to be shorter than recordLifetime", async (t) => {
  await t.step("equal values from the file", async () => {
    await withConfigFile(
      { republishInterval: "2h", recordLifetime: "2h" },
      async (dataDir, file) => {
        await assertRejects(
          () => loadConfig({ dataDir }),
          ConfigError,
          `republishInterval 2h (from ${file}) must be shorter than recordLifetime 2h (from ${file})`,
        );
      },
    );
  });
  await t.step("a long interval from env against the default lifetime", async () => {
    await withDir(async (dataDir) => {
      await assertRejects(
        () => loadConfig({ dataDir, env: { MOTE_REPUBLISH_INTERVAL: "2d" } }),
        ConfigError,
        "republishInterval 2d (from MOTE_REPUBLISH_INTERVAL) must be shorter than recordLifetime 1d12h (the default)",
      );
    });
  });
  await t.step("a flag can fix what the file got wrong", async () => {
    await withConfigFile({ republishInterval: "2d" }, async (dataDir) => {
      const { config } = await loadConfig({ dataDir, flags: { recordLifetime: "3d" } });
      assertEquals(config.recordLifetime, 3 * D);
    });
  });
});

Deno.test("loadConfig() reports unreadable JSON with the file and the place", async (t) => {
  const cases: [string, string, string][] = [
    ["a trailing comma", '{\n  "port": 8180,\n  "bootstrap": ["/a",]\n}', "line 3, column 22"],
    ["a missing colon", '{\n  "port" 8180\n}', "line 2, column 10"],
    ["a bare word", '{"logLevel": info}', "line 1, column 14"],
    ["a truncated file", '{"port": 8180', "line 1, column 14"],
    ["an empty file", "", "line 1, column 1"],
  ];
  for (const [name, content, place] of cases) {
    await t.step(name, async () => {
      await withConfigFile(content, async (dataDir, file) => {
        await assertRejects(
          () => loadConfig({ dataDir }),
          ConfigError,
          `Cannot parse config file ${file} at ${place}: `,
        );
      });
    });
  }
});

Deno.test("loadConfig() rejects a config file that is not a JSON object", async (t) => {
  const cases: [string, string][] = [["[]", "received an array"], ["42", "received 42"], [
    "null",
    "received null",
  ]];
  for (const [content, message] of cases) {
    await t.step(content, async () => {
      await withConfigFile(content, async (dataDir, file) => {
        await assertRejects(
          () => loadConfig({ dataDir }),
          ConfigError,
          `Cannot use config file ${file}: expected a JSON object, ${message}`,
        );
      });
    });
  }
});

Deno.test("loadConfig() accepts a byte order mark and reports a file it cannot read", async () => {
  await withConfigFile('\uFEFF{"port": 1}', async (dataDir) => {
    assertEquals((await loadConfig({ dataDir })).config.port, 1);
  });
  await withDir(async (dataDir) => {
    const file = join(dataDir, "config.json");
    await Deno.mkdir(file); // a directory where the file should be
    await assertRejects(
      () => loadConfig({ dataDir }),
      ConfigError,
      `Cannot read config file ${file}: `,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// resolveDataDir

Deno.test("resolveDataDir() prefers the flag, then MOTE_DATA, then ~/.mote", async (t) => {
  const cases: [string, Parameters<typeof resolveDataDir>[0], string][] = [
    ["flag wins", { flag: "/f", env: { MOTE_DATA: "/e" }, home: "/h" }, "/f"],
    ["env next", { env: { MOTE_DATA: "/e" }, home: "/h" }, "/e"],
    ["home last", { env: {}, home: "/h" }, join("/h", ".mote")],
    [
      "empty values count as unset",
      { flag: "", env: { MOTE_DATA: "" }, home: "/h" },
      join(
        "/h",
        ".mote",
      ),
    ],
  ];
  for (const [name, options, expected] of cases) {
    await t.step(name, () => assertEquals(resolveDataDir(options), expected));
  }
  await t.step("nothing given is an error", () => {
    assertThrows(
      () => resolveDataDir({ env: {} }),
      ConfigError,
      "Cannot choose a data directory: no --data flag, MOTE_DATA is unset",
    );
  });
});

Deno.test("updateConfigFile() changes only the given keys and refuses a bad value untouched", async () => {
  await withDir(async (dataDir) => {
    const file = join(dataDir, "config.json");
    await Deno.writeTextFile(file, JSON.stringify({ port: 9000, logLevel: "warn" }));
    await updateConfigFile(dataDir, { supply: "2GiB", bootstrap: [] });
    const saved = JSON.parse(await Deno.readTextFile(file));
    assertEquals(saved, { port: 9000, logLevel: "warn", supply: "2GiB", bootstrap: [] });
    const { config } = await loadConfig({ dataDir, env: {} });
    assertEquals([config.port, config.supply], [9000, 2 * 1024 ** 3]);
    if (Deno.build.os !== "windows") assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
    for (
      const [patch, message] of [
        [{ supply: "lots" }, 'Cannot parse size "lots"'],
        [{ nope: 1 }, 'Unknown option "nope"'],
        [{ apiHost: "0.0.0.0" }, "needs apiPassword"],
        [{ bootstrap: ["/ip4/1.2.3.4/tcp/1"] }, "/p2p/"],
      ] as const
    ) {
      let error = "";
      try {
        await updateConfigFile(dataDir, patch);
      } catch (e) {
        error = (e as Error).message;
      }
      assert(error.includes(message), `${JSON.stringify(patch)}: ${error}`);
      assertEquals(JSON.parse(await Deno.readTextFile(file)), saved, "the file is unchanged");
    }
  });
});

Deno.test("loadConfig() refuses a non-loopback apiHost without apiPassword", async (t) => {
  for (const host of ["0.0.0.0", "127.0.0.300", "192.0.2.1"]) {
    await t.step(host, async () => {
      await withConfigFile({ apiHost: host }, async (dataDir) => {
        await assertRejects(
          () => loadConfig({ dataDir }),
          ConfigError,
          `apiHost "${host}" (from `,
        );
      });
      await withConfigFile({ apiHost: host, apiPassword: "twelve chars!" }, async (dataDir) => {
        assertEquals((await loadConfig({ dataDir })).config.apiHost, host);
      });
    });
  }
});
