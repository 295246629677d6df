/** Steering executions: cancel (including an in-flight HTTP call), pause/resume, rerun from a step, manual runs. */
import { afterAll, describe, expect, it } from "vitest";
import { connect, eventually, stack } from "./helpers.ts";
import { createLeadsTable, publishFlow, startTarget, terminalExecutions } from "./flows-helpers.ts";
import { signJwt } from "../../packages/stack/src/jwt.ts";

const sql = connect();
afterAll(() => sql.end());

describe("operating executions", () => {
  it("cancelling a running execution aborts its in-flight HTTP call and stops before the next step", async () => {
    let aborted = false;
    const hanging = await startTarget(() => ({ delayMs: 30_000 }));
    const after = await startTarget();
    try {
      const table = await createLeadsTable(sql, "leads_cancel");
      const { flowId } = await publishFlow(sql, "cancellable", {
        trigger: { type: "row_change", table, events: ["INSERT"] },
        steps: [
          { id: "slow", type: "http", timeout: 60_000, config: { method: "POST", url: `${hanging.url}/slow` } },
          { id: "next", type: "http", config: { method: "POST", url: `${after.url}/next` } },
        ],
      });
      await sql.unsafe(`insert into ${table} (name) values ('cancel me')`);
      await eventually(async () => (hanging.requests.length > 0 ? true : undefined), 10_000, "the slow request");
      const [running] = await sql`select execution_id, status from flows.executions where flow_id = ${flowId}`;
      expect(running.status).toBe("running");
      const started = Date.now();
      await sql`select flows.request_cancel(${running.execution_id})`;
      const [execution] = await terminalExecutions(sql, flowId, 1, 10_000);
      aborted = true;
      expect(execution.status).toBe("cancelled");
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(after.requests.length).toBe(0);
      const [row] = await sql`select cancel_requested_at, finished_at, error_code from flows.executions where execution_id = ${running.execution_id}`;
      expect(row.cancel_requested_at).not.toBeNull();
      expect(row.error_code).toBe("CANCELLED");
    } finally {
      if (!aborted) await sql`update flows.executions set cancel_requested_at = now() where status = 'running'`;
      await hanging.close();
      await after.close();
    }
  });

  it("a paused flow keeps its events as pending executions and runs them when it resumes", async () => {
    const table = await createLeadsTable(sql, "leads_paused");
    const { flowId } = await publishFlow(sql, "pausable", {
      trigger: { type: "row_change", table, events: ["INSERT"] },
      steps: [{ id: "log", type: "log", config: { message: "lead {{row.id}}" } }],
    });
    await sql`select flows.set_flow_paused(${flowId}, true)`;
    await sql.unsafe(`insert into ${table} (name) select 'p' || g from generate_series(1, 5) g`);
    const pending = await eventually(async () => {
      const rows = await sql`select status from flows.executions where flow_id = ${flowId}`;
      return rows.length === 5 ? rows : undefined;
    }, 10_000, "5 executions");
    await new Promise((r) => setTimeout(r, 500));
    const still = await sql`select status from flows.executions where flow_id = ${flowId}`;
    expect(pending.every((r) => r.status === "pending")).toBe(true);
    expect(still.every((r) => r.status === "pending")).toBe(true);
    await sql`select flows.set_flow_paused(${flowId}, false)`;
    const done = await terminalExecutions(sql, flowId, 5);
    expect(done.every((e) => e.status === "completed")).toBe(true);
  });

  it("rerun from the failed step reuses earlier outputs and does not call them again", async () => {
    let fail = true;
    const first = await startTarget(() => ({ body: { token: "abc" } }));
    const second = await startTarget(() => (fail ? { status: 400, body: { error: "bad" } } : { body: { ok: true } }));
    try {
      const table = await createLeadsTable(sql, "leads_rerun");
      const { flowId } = await publishFlow(sql, "rerunnable", {
        trigger: { type: "row_change", table, events: ["INSERT"] },
        steps: [
          { id: "first", type: "http", config: { method: "POST", url: `${first.url}/a` } },
          { id: "second", type: "http", config: { method: "POST", url: `${second.url}/b`, body: { token: "{{steps.first.output.body.token}}", lead: "{{row.id}}" } } },
        ],
      });
      await sql.unsafe(`insert into ${table} (name) values ('again')`);
      const [failed] = await terminalExecutions(sql, flowId, 1);
      expect(failed.status).toBe("failed");
      fail = false;
      const [{ rerun_id }] = await sql`select flows.rerun(${failed.execution_id}, 'second') as rerun_id`;
      const rerun = await eventually(async () => {
        const [row] = await sql`select status, trigger_type, rerun_of_execution_id from flows.executions where execution_id = ${rerun_id} and status in ('completed', 'failed')`;
        return row;
      }, 15_000, "the rerun to finish");
      expect(rerun).toMatchObject({ status: "completed", trigger_type: "rerun", rerun_of_execution_id: failed.execution_id });
      expect(first.requests.length).toBe(1);
      expect(second.requests.length).toBe(2);
      expect(JSON.parse(second.requests[1].body)).toEqual({ token: "abc", lead: JSON.parse(second.requests[0].body).lead });
      const steps = await sql`select step_id, status, reused_from_attempt_id is not null as reused from flows.execution_steps where execution_id = ${rerun_id} order by step_attempt_id`;
      expect(steps.map((s) => `${s.step_id}:${s.status}:${s.reused}`)).toEqual(["first:completed:true", "second:completed:false"]);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it("rerun names an unknown step and refuses unfinished executions", async () => {
    const table = await createLeadsTable(sql, "leads_rerun_bad");
    const { flowId } = await publishFlow(sql, "rerun-bad", {
      trigger: { type: "row_change", table, events: ["INSERT"] },
      steps: [{ id: "only", type: "log", config: { message: "x" } }],
    });
    await sql.unsafe(`insert into ${table} (name) values ('x')`);
    const [done] = await terminalExecutions(sql, flowId, 1);
    await expect(sql`select flows.rerun(${done.execution_id}, 'nope')`).rejects.toMatchObject({
      code: "FL007",
      message: expect.stringContaining('from_step: step "nope" is not in version'),
    });
  });

  it("POST /run starts a manual run for a member, and refuses a member of another tenant", async () => {
    const { flowId } = await publishFlow(sql, "manual-greeting", {
      trigger: { type: "manual" },
      parameters: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
      steps: [{ id: "greet", type: "transform", config: { output: { greeting: "hello {{input.name}}" } } }],
    });
    const [{ id: userId }] = await sql`insert into auth.users (email) values ('runner@example.com') returning id`;
    const [{ id: outsiderId }] = await sql`insert into auth.users (email) values ('outsider@example.com') returning id`;
    const otherTenant = "00000000-0000-0000-0000-0000000000aa";
    await sql`insert into flows.members (tenant_id, user_id, role) values (flows.default_tenant(), ${userId}, 'member'), (${otherTenant}, ${outsiderId}, 'admin')`;
    const tokenFor = (sub: string) =>
      signJwt({ sub, role: "authenticated", aud: "authenticated", exp: Math.floor(Date.now() / 1000) + 600 }, stack.jwtSecret);
    const run = async (sub: string, body: unknown) =>
      await fetch(`${stack.apiUrl}/functions/v1/flow-engine/run`, {
        method: "POST",
        headers: { Authorization: `Bearer ${await tokenFor(sub)}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });

    const bad = await run(userId, { flow_key: "manual-greeting", input: { name: 42 } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/input\.name/);

    const ok = await run(userId, { flow_key: "manual-greeting", input: { name: "Ada" } });
    expect(ok.status).toBe(202);
    const { execution_id } = await ok.json();
    const execution = await eventually(async () => {
      const [row] = await sql`select status, executed_by, result from flows.executions where execution_id = ${execution_id} and status = 'completed'`;
      return row;
    }, 10_000, "the manual run");
    expect(execution.executed_by).toBe(userId);
    expect(execution.result.outputs.greet).toEqual({ greeting: "hello Ada" });

    const outsider = await run(outsiderId, { flow_key: "manual-greeting", input: { name: "Eve" } });
    expect(outsider.status).toBe(404);
    const count = await sql`select count(*)::int as n from flows.executions where flow_id = ${flowId}`;
    expect(count[0].n).toBe(1);
  });
});

describe("flow control", () => {
  it("a flow with max_concurrency 2 never runs more than 2 executions at once, and runs them all in order", async () => {
    let inFlight = 0;
    let peak = 0;
    const order: number[] = [];
    const { createServer } = await import("node:http");
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        order.push(JSON.parse(body).n);
        setTimeout(() => {
          inFlight--;
          res.end("{}");
        }, 150);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/slot`;
    try {
      const table = await createLeadsTable(sql, "leads_limited");
      const { flowId } = await publishFlow(sql, "limited", {
        trigger: { type: "row_change", table, events: ["INSERT"] },
        steps: [{ id: "call", type: "http", config: { method: "POST", url, body: { n: "{{row.id}}" } } }],
      });
      await sql`select flows.set_flow_concurrency(${flowId}, 2)`;
      for (let i = 0; i < 8; i++) await sql.unsafe(`insert into ${table} (name) values ('n${i}')`);
      const done = await terminalExecutions(sql, flowId, 8, 30_000);
      expect(done.every((e) => e.status === "completed")).toBe(true);
      expect(peak).toBe(2);
      // Claimed oldest first; the two running at once may reach the server in either order.
      const rank = new Map([...order].sort((a, b) => a - b).map((n, index) => [n, index]));
      expect(order.every((n, index) => Math.abs(rank.get(n)! - index) <= 1)).toBe(true);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
