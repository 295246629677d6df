/** What the figures were measured on: CPU, memory, load and the versions of everything in the path. */
import { readFileSync } from "node:fs";
import type postgres from "postgres";

function readProc(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** The machine's load average (1, 5, 15 minutes): other work on the machine skews figures. */
export function loadAverage(): number[] {
  return readProc("/proc/loadavg").split(" ").slice(0, 3).map(Number);
}

/** CPU model, cores, memory and kernel, from /proc. */
export function describeMachine() {
  const cpuinfo = readProc("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const cores = cpuinfo.split("\n").filter((line) => line.startsWith("processor")).length || navigator.hardwareConcurrency;
  const memKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readProc("/proc/meminfo"))?.[1] ?? 0);
  return {
    cpuModel: model,
    cpuCores: cores,
    memory: { value: Math.round(memKb / 1024), unit: "MiB" },
    kernel: readProc("/proc/sys/kernel/osrelease").trim() || Deno.build.os,
  };
}

/** Versions of Postgres, pg_cron, Deno and Node. */
export async function describeVersions(sql: postgres.Sql) {
  const [pg] = await sql`select current_setting('server_version') as version,
    (select extversion from pg_extension where extname = 'pg_cron') as pg_cron`;
  let node = "not found";
  try {
    const output = await new Deno.Command("node", { args: ["--version"], stdout: "piped", stderr: "null" }).output();
    if (output.success) node = new TextDecoder().decode(output.stdout).trim().replace(/^v/, "");
  } catch { /* node is not on PATH */ }
  return { postgres: pg!.version, pgCron: pg!.pg_cron, deno: Deno.version.deno, v8: Deno.version.v8, node };
}

/** Peak and current resident memory of a process, from /proc/<pid>/status. */
export function processMemory(pid: number): { peakRssMiB: number; rssMiB: number; command: string } | null {
  const status = readProc(`/proc/${pid}/status`);
  if (!status) return null;
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return {
    peakRssMiB: kb("VmHWM") / 1024,
    rssMiB: kb("VmRSS") / 1024,
    command: /^Name:\s+(.+)$/m.exec(status)?.[1] ?? "?",
  };
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

function statFields(pid: number): string[] | null {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return null;
  // Fields after the command name, which is in parentheses and may hold spaces.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** CPU seconds (user + system) a process has used; `withReaped` adds its waited-for children's. */
export function processCpuSeconds(pid: number, withReaped = false): number {
  const fields = statFields(pid);
  if (!fields) return 0;
  // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
  const ticks = Number(fields[11]) + Number(fields[12]) + (withReaped ? Number(fields[13]) + Number(fields[14]) : 0);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds used by a Postgres server: the postmaster, its live children and the children it has reaped. */
export function postgresCpuSeconds(postmasterPid: number): number {
  let total = processCpuSeconds(postmasterPid, true);
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const fields = statFields(Number(entry.name));
    if (fields && Number(fields[1]) === postmasterPid) total += processCpuSeconds(Number(entry.name));
  }
  return total;
}
