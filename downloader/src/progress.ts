/**
 * Progress for humans: a bar per active file on a TTY (cli-progress), periodic plain lines
 * (percent, MB/s, ETA) when the output is a log (container logs), or nothing.
 */
import type { MultiBar, SingleBar } from "cli-progress";
import { formatBytes, formatDuration, formatRate } from "./format.js";
import type { FileProgress } from "./transfer.js";

export type ProgressMode = "auto" | "bars" | "lines" | "none";

export interface TrackedFile extends FileProgress {
  finish(outcome: string): void;
}

export interface Reporter {
  /** Register a file that will be fetched (size from the manifest when known). */
  file(label: string, expectedSize: number | undefined): TrackedFile;
  /** An event worth a line in the log: a retry, a wait for another downloader, a resume. */
  log(message: string): void;
  stop(): void;
}

export interface ReporterOptions {
  mode: ProgressMode;
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  intervalMs: number;
}

export async function createReporter(options: ReporterOptions): Promise<Reporter> {
  const mode = options.mode === "auto" ? (options.stream.isTTY ? "bars" : "lines") : options.mode;
  switch (mode) {
    case "bars":
      // Loaded only for a TTY: container logs never draw a bar.
      return new BarsReporter(options.stream, await import("cli-progress"));
    case "lines":
      return new LinesReporter(options.stream, options.intervalMs);
    default:
      return new QuietReporter(options.stream);
  }
}

interface FileState {
  label: string;
  total: number | undefined;
  done: number;
  active: boolean;
  finished: boolean;
  startedAt: number;
}

abstract class BaseReporter implements Reporter {
  protected readonly files: FileState[] = [];

  constructor(protected readonly stream: NodeJS.WritableStream) {}

  file(label: string, expectedSize: number | undefined): TrackedFile {
    const state: FileState = { label, total: expectedSize, done: 0, active: false, finished: false, startedAt: Date.now() };
    this.files.push(state);
    return {
      start: (total, done) => {
        state.total = total ?? state.total;
        state.done = done;
        if (!state.active) {
          state.active = true;
          state.startedAt = Date.now();
          this.started(state);
        }
        this.changed(state);
      },
      advance: (bytes) => {
        state.done += bytes;
        this.changed(state);
      },
      reset: () => {
        state.done = 0;
        this.changed(state);
      },
      finish: (outcome) => {
        if (state.finished) return;
        state.finished = true;
        const wasActive = state.active;
        state.active = false;
        this.finished(state, outcome, wasActive);
      },
    };
  }

  log(message: string): void {
    this.write(`${message}\n`);
  }

  stop(): void {}

  protected write(text: string): void {
    this.stream.write(text);
  }

  protected started(_state: FileState): void {}
  protected changed(_state: FileState): void {}
  protected finished(state: FileState, outcome: string, wasActive: boolean): void {
    if (!wasActive) return;
    const seconds = (Date.now() - state.startedAt) / 1000;
    this.log(`${outcome}: ${state.label} (${formatBytes(state.done)} in ${formatDuration(seconds)})`);
  }
}

class QuietReporter extends BaseReporter {
  protected override finished(): void {}
}

/** Container logs: a line when a file starts, one every interval while bytes flow, one per finished file. */
class LinesReporter extends BaseReporter {
  private readonly timer: NodeJS.Timeout;
  private lastBytes = 0;
  private lastAt = Date.now();
  private rate = 0;

  constructor(stream: NodeJS.WritableStream, intervalMs: number) {
    super(stream);
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  protected override started(state: FileState): void {
    const size = state.total === undefined ? "size unknown" : formatBytes(state.total);
    this.log(`fetching ${state.label} (${size}${state.done > 0 ? `, resuming at ${formatBytes(state.done)}` : ""})`);
  }

  private tick(): void {
    const active = this.files.filter((f) => f.active);
    const now = Date.now();
    const done = this.files.reduce((sum, f) => sum + f.done, 0);
    const instant = ((done - this.lastBytes) * 1000) / Math.max(1, now - this.lastAt);
    this.rate = this.rate === 0 ? instant : 0.5 * this.rate + 0.5 * instant;
    this.lastBytes = done;
    this.lastAt = now;
    if (active.length === 0) return;
    const pending = this.files.filter((f) => !f.finished);
    const known = pending.filter((f) => f.total !== undefined);
    const total = known.reduce((sum, f) => sum + (f.total ?? 0), 0);
    const remaining = known.reduce((sum, f) => sum + Math.max(0, (f.total ?? 0) - f.done), 0);
    const doneOfKnown = total - remaining;
    const percent = total > 0 ? `${((doneOfKnown / total) * 100).toFixed(1)}%` : "?%";
    const eta = this.rate > 0 ? formatDuration(remaining / this.rate) : "?";
    const files = active
      .slice(0, 3)
      .map((f) => `${f.label} ${f.total ? `${Math.floor((f.done / f.total) * 100)}%` : formatBytes(f.done)}`)
      .join(", ");
    this.log(
      `progress: ${percent} of ${formatBytes(total)} left to fetch, ${formatRate(this.rate)}, ETA ${eta}; ${active.length} active: ${files}${active.length > 3 ? ", …" : ""}`,
    );
  }

  override stop(): void {
    clearInterval(this.timer);
  }
}

/** A TTY: one bar per active file; finished files become one log line above the bars. */
class BarsReporter extends BaseReporter {
  private multibar: MultiBar | undefined;
  private readonly bars = new Map<FileState, SingleBar>();

  constructor(
    stream: NodeJS.WritableStream,
    private readonly cliProgress: typeof import("cli-progress"),
  ) {
    super(stream);
  }

  private ensure(): MultiBar {
    if (!this.multibar) {
      this.multibar = new this.cliProgress.MultiBar(
        {
          stream: this.stream,
          format: "{bar} {percentage}% {label} | {doneText}/{totalText} | {speed} | ETA {eta_formatted}",
          barsize: 24,
          hideCursor: true,
          clearOnComplete: true,
          autopadding: true,
          fps: 8,
          etaBuffer: 50,
        },
        this.cliProgress.Presets.shades_classic,
      );
    }
    return this.multibar;
  }

  protected override write(text: string): void {
    if (this.multibar) this.multibar.log(text);
    else super.write(text);
  }

  protected override started(state: FileState): void {
    const bar = this.ensure().create(state.total ?? 0, state.done, this.payload(state));
    this.bars.set(state, bar);
  }

  protected override changed(state: FileState): void {
    const bar = this.bars.get(state);
    if (!bar) return;
    if (state.total !== undefined && bar.getTotal() !== state.total) bar.setTotal(state.total);
    bar.update(state.done, this.payload(state));
  }

  protected override finished(state: FileState, outcome: string, wasActive: boolean): void {
    const bar = this.bars.get(state);
    if (bar) {
      this.multibar?.remove(bar);
      this.bars.delete(state);
    }
    super.finished(state, outcome, wasActive);
  }

  private payload(state: FileState) {
    const seconds = Math.max(0.001, (Date.now() - state.startedAt) / 1000);
    return {
      label: state.label,
      doneText: formatBytes(state.done),
      totalText: state.total === undefined ? "?" : formatBytes(state.total),
      speed: formatRate(state.done / seconds),
    };
  }

  override stop(): void {
    this.multibar?.stop();
  }
}
