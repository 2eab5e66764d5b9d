/**
 * The engine's own event log (`pulumi up --event-log <file>`): one JSON engine event per line, in
 * the order the engine emitted them. Step order is read from it, not from timestamps.
 */
import { readFileSync } from "node:fs";

export interface StepMetadata {
  op: string;
  urn: string;
  type: string;
}

export interface EngineEvent {
  sequence: number;
  resourcePreEvent?: { metadata: StepMetadata };
  resOutputsEvent?: { metadata: StepMetadata };
  resOpFailedEvent?: { metadata: StepMetadata };
  policyEvent?: { resourceUrn?: string; message: string; policyName: string; policyPackName: string; enforcementLevel: string };
  diagnosticEvent?: { urn?: string; message: string; severity: string };
}

export function readEvents(file: string): EngineEvent[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as EngineEvent);
}

export type Phase = "pre" | "outputs" | "failed";

/** The steps the engine ran, in order: phase, op and resource type. */
export function steps(events: EngineEvent[]): { phase: Phase; op: string; type: string; urn: string }[] {
  const out: { phase: Phase; op: string; type: string; urn: string }[] = [];
  for (const e of events) {
    const [phase, m] = e.resourcePreEvent
      ? (["pre", e.resourcePreEvent.metadata] as const)
      : e.resOutputsEvent
        ? (["outputs", e.resOutputsEvent.metadata] as const)
        : e.resOpFailedEvent
          ? (["failed", e.resOpFailedEvent.metadata] as const)
          : [undefined, undefined];
    if (phase && m) out.push({ phase, op: m.op, type: m.type, urn: m.urn });
  }
  return out;
}

/** Index of the first step matching; -1 when there is none. */
export function indexOf(events: EngineEvent[], match: { phase: Phase; type: string; ops?: string[] }): number {
  return steps(events).findIndex((s) => s.phase === match.phase && s.type === match.type && (!match.ops || match.ops.includes(s.op)));
}

/** The ops the engine ran on resources of `type` (same, create, update, replace, create-replacement, delete-replaced, …). */
export function opsOn(events: EngineEvent[], type: string): string[] {
  return steps(events)
    .filter((s) => s.phase === "pre" && s.type === type)
    .map((s) => s.op);
}

export function policyEvents(events: EngineEvent[]) {
  return events.flatMap((e) => (e.policyEvent ? [e.policyEvent] : []));
}
