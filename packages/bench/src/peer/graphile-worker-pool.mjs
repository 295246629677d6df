// A graphile-worker pool that runs no-op jobs, started by the bench's peer phase (packages/bench/src/phases/peer.ts).
// It runs under Node, not Deno: graphile-worker is a Node library, measured here the way it is deployed.
//
// argv[2] is JSON: { connectionString, options } where options are graphile-worker's RunnerOptions (without the task
// list). The pool installs its schema when it starts, as graphile-worker does. Messages go to stdout, one JSON object
// a line: { ready }, { reached }, { progress }, { report }, { stopped }, { error }. Commands come on stdin, one a line:
// `notify N` sends { reached } as soon as N jobs have started since the last report (and { progress } every 5 s until
// then), so that the bench learns it without polling; `report` prints the jobs started since the last report and
// clears them; `stop` stops the pool and exits. stdin closing (the bench gone) stops it too.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import graphileWorker from "graphile-worker";

const { Logger, run } = graphileWorker;
const { connectionString, options } = JSON.parse(process.argv[2] ?? "{}");

/** Epoch milliseconds with sub-millisecond precision: the bench stamps each job's add with the same clock. */
const epochMs = () => performance.timeOrigin + performance.now();

/** [n, addedAt, startedAt] of every job started since the last report; n and addedAt come from the payload. */
let started = [];

const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");

// Warnings and errors only: a log line per job would measure the terminal, not the queue.
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") process.stderr.write(`${level}: ${message}\n`);
});

/** Pending `notify N`: the count to announce, and the timer of its progress messages. */
let notifyAt = null;
let progressTimer = null;

function announceIfReached() {
  if (notifyAt === null || started.length < notifyAt) return;
  send({ reached: started.length });
  notifyAt = null;
  clearInterval(progressTimer);
}

const taskList = {
  noop: async (payload) => {
    started.push([payload?.n ?? null, payload?.addedAt ?? null, epochMs()]);
    if (notifyAt !== null) announceIfReached();
  },
};

let runner = null;
let stopping = null;

function stop(exitCode) {
  clearInterval(progressTimer);
  stopping ??= (async () => {
    try {
      if (runner) await runner.stop();
    } catch (error) {
      process.stderr.write(`stop failed: ${error}\n`);
      exitCode = 1;
    }
    send({ stopped: true });
    process.exit(exitCode);
  })();
  return stopping;
}

const commands = createInterface({ input: process.stdin });
commands.on("line", (line) => {
  const command = line.trim();
  if (command.startsWith("notify ")) {
    notifyAt = Number(command.slice("notify ".length));
    clearInterval(progressTimer);
    progressTimer = setInterval(() => send({ progress: started.length }), 5_000);
    announceIfReached();
  } else if (command === "report") {
    const report = started;
    started = [];
    send({ report });
  } else if (command === "stop") {
    void stop(0);
  } else if (command) {
    send({ error: `unknown command ${command}` });
  }
});
commands.on("close", () => {
  // The bench is gone (or done): stop, and do not outlive it even if the database went away first.
  setTimeout(() => process.exit(1), 10_000).unref();
  void stop(0);
});

try {
  runner = await run({ ...options, connectionString, logger, noHandleSignals: true }, taskList, []);
  runner.promise.catch((error) => {
    send({ error: `the pool stopped: ${error?.message ?? error}` });
    void stop(1);
  });
  const { version } = createRequire(import.meta.url)("graphile-worker/package.json");
  send({ ready: true, version, node: process.versions.node });
} catch (error) {
  send({ error: `the pool did not start: ${error?.message ?? error}` });
  process.exit(1);
}
