/** Figures, the printed table and the JSON report. Every figure carries its unit. */
import { round } from "./stats.ts";

/** One measured (or quoted) number. */
export interface Figure {
  /** Section of the table: write path, end to end, peer, scale-out, memory, kicks. */
  section: string;
  name: string;
  value: number | null;
  unit: string;
  /** The target as written in the issue, e.g. "<= 1.3". */
  target?: string;
  /** Whether the target is met; absent when there is no target. */
  met?: boolean;
  /** "measured" unless the figure was not measured in this run. */
  source: "measured" | "calibration (not measured in this run)";
  note?: string;
}

/** Collects figures as phases produce them. */
export class FigureBook {
  readonly figures: Figure[] = [];

  /** Records a measured figure, checking it against an optional target. */
  add(section: string, name: string, value: number | null, unit: string, check?: { target: string; met: (v: number) => boolean }, note?: string) {
    const figure: Figure = { section, name, value: round(value), unit, source: "measured" };
    if (check) {
      figure.target = check.target;
      figure.met = value === null ? false : check.met(value);
    }
    if (note) figure.note = note;
    this.figures.push(figure);
    return figure;
  }

  /** Records a figure quoted from the calibration, not measured here. */
  quote(section: string, name: string, value: number, unit: string, note?: string) {
    this.figures.push({ section, name, value, unit, source: "calibration (not measured in this run)", ...(note ? { note } : {}) });
  }
}

function formatValue(value: number | null): string {
  if (value === null) return "n/a";
  return Math.abs(value) >= 1000 ? Math.round(value).toLocaleString("en-US") : String(value);
}

/** The table as Markdown, so the same text serves the terminal and docs/performance.md. */
export function renderTable(figures: Figure[]): string {
  const lines = ["| section | measurement | value | unit | target | |", "| --- | --- | ---: | --- | --- | --- |"];
  for (const f of figures) {
    const verdict = f.source !== "measured" ? "calibration, not measured here" : f.met === undefined ? "" : f.met ? "met" : "MISSED";
    lines.push(`| ${f.section} | ${f.name} | ${formatValue(f.value)} | ${f.unit} | ${f.target ?? ""} | ${verdict} |`);
  }
  return lines.join("\n");
}
