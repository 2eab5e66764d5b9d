/**
 * `model-cache verify`: read-only. The fast mode trusts a verification record while the file's
 * size, mtime and inode are unchanged; `--deep` re-hashes every byte and trusts nothing.
 * Both check the refs a consumer loads by repo id with.
 */
import { SHA1_RE } from "../../components/core/contract.js";
import type { Manifest } from "../../components/core/manifest.js";
import { toCliError } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import { readFileOrUndefined, realpathOrUndefined } from "./fs-util.js";
import { hashFile } from "./hashing.js";
import { assertStateDirReal, realRoot, refPath } from "./layout.js";
import {
  compareDigests,
  etagProblem,
  expectedContent,
  type FileTarget,
  inspectTarget,
  type ModelPlan,
  planManifest,
  resolveHubEntry,
  targetPathInModel,
} from "./plan.js";
import { forEachLimit } from "./pool.js";
import type { Reporter } from "./progress.js";
import type { FileProblem, ModelReport } from "./report.js";

export interface VerifySettings {
  root: string;
  deep: boolean;
  concurrency: number;
}

interface FileCheck {
  size: number;
  verified: boolean;
  problem?: FileProblem;
}

export async function runVerify(
  manifest: Manifest,
  settings: VerifySettings,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<ModelReport[]> {
  const root = await realRoot(settings.root, { create: false });
  await assertStateDirReal(root);
  const plans = planManifest(root, manifest);
  const items = plans.flatMap((plan, m) => plan.targets.map((target, f) => ({ m, f, target })));
  const checks: FileCheck[][] = plans.map((plan) => new Array(plan.targets.length));
  const timings = plans.map(() => ({ start: Number.POSITIVE_INFINITY, end: 0 }));

  const run = async ({ m, f, target }: (typeof items)[number]) => {
    const started = Date.now();
    let check: FileCheck;
    try {
      check = settings.deep ? await deepCheck(target, reporter, signal) : await fastCheck(root, target);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      check = {
        size: 0,
        verified: false,
        problem: { file: targetPathInModel(target), state: "failed", reason: toCliError(error).message },
      };
    }
    checks[m]![f] = check;
    const timing = timings[m]!;
    timing.start = Math.min(timing.start, started);
    timing.end = Math.max(timing.end, Date.now());
  };
  // Fast checks are a few stats each: many in flight, but bounded (a manifest may list 100k files).
  await forEachLimit(items, settings.deep ? settings.concurrency : 64, run);

  return Promise.all(plans.map((plan, m) => modelReport(plan, checks[m]!, timings[m]!)));
}

async function modelReport(plan: ModelPlan, checks: FileCheck[], timing: { start: number; end: number }): Promise<ModelReport> {
  const problems = checks.flatMap((c) => (c.problem ? [c.problem] : []));
  problems.push(...(await refProblems(plan)));
  const corrupt = problems.some((p) => p.state === "corrupt");
  const report: ModelReport = {
    id: plan.model.id,
    kind: plan.model.kind,
    status: problems.length === 0 ? "ok" : corrupt ? "corrupt" : "incomplete",
    files: plan.targets.length,
    bytes: checks.reduce((sum, c) => sum + c.size, 0),
    fetchedBytes: 0,
    seconds: Number.isFinite(timing.start) ? Math.round(timing.end - timing.start) / 1000 : 0,
    verified: problems.length === 0 && checks.every((c) => c.verified),
  };
  if (problems.length > 0) {
    report.problems = problems;
    const listed = problems.slice(0, 3).map((p) => `${p.file} (${p.state})`);
    report.reason = `not ready: ${listed.join(", ")}${problems.length > 3 ? ` and ${problems.length - 3} more` : ""}`;
    report.exitCode = corrupt ? EXIT.checksum : EXIT.incomplete;
  }
  return report;
}

async function fastCheck(root: string, target: FileTarget): Promise<FileCheck> {
  const inspection = await inspectTarget(root, target);
  if (inspection.state === "verified") return { size: inspection.size, verified: inspection.checkedAgainst.length > 0 };
  const hint = inspection.state === "unverified" ? "; `download` verifies it locally without fetching, `verify --deep` re-hashes it" : "";
  return {
    size: 0,
    verified: false,
    problem: { file: targetPathInModel(target), state: inspection.state, reason: inspection.reason + hint },
  };
}

async function deepCheck(target: FileTarget, reporter: Reporter, signal: AbortSignal): Promise<FileCheck> {
  const file = targetPathInModel(target);
  let path: string;
  let etag: string | undefined;
  if (target.kind === "hub") {
    // The bytes a consumer reads: the snapshot entry's real path, which must be this repo's blob.
    const entry = await resolveHubEntry(target);
    if ("state" in entry) return { size: 0, verified: false, problem: { file, ...entry } };
    etag = entry.etag;
    path = entry.blob;
  } else {
    const real = await realpathOrUndefined(target.path);
    if (real === undefined) return { size: 0, verified: false, problem: { file, state: "missing", reason: "missing" } };
    if (real !== target.path) {
      return {
        size: 0,
        verified: false,
        problem: { file, state: "missing", reason: `leads to ${real} (a symbolic link on the way); never trusted` },
      };
    }
    path = target.path;
  }
  const tracked = reporter.file(`${target.label} (hashing)`, undefined);
  let digests: Awaited<ReturnType<typeof hashFile>>;
  try {
    let started = false;
    digests = await hashFile(path, {
      gitBlob: etag !== undefined && SHA1_RE.test(etag),
      signal,
      onBytes: (bytes) => {
        if (!started) {
          started = true;
          tracked.start(undefined, 0);
        }
        tracked.advance(bytes);
      },
    });
  } catch (error) {
    tracked.finish("failed");
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      return { size: 0, verified: false, problem: { file, state: "missing", reason: "missing" } };
    throw error;
  }
  tracked.finish("hashed");
  const expected = expectedContent(target, etag);
  const mismatch = compareDigests(digests, digests.size, expected);
  const wrongName = etag ? etagProblem(etag, digests.sha256, digests.gitSha1) : undefined;
  if (mismatch || wrongName) {
    const reason = mismatch
      ? `${mismatch.algorithm} mismatch: expected ${mismatch.expected}, got ${mismatch.actual}`
      : (wrongName as string);
    return { size: digests.size, verified: false, problem: { file, state: "corrupt", reason } };
  }
  const verified = expected.sha256 !== undefined || expected.gitSha1 !== undefined;
  return { size: digests.size, verified };
}

async function refProblems(plan: ModelPlan): Promise<FileProblem[]> {
  const { model } = plan;
  if (model.kind !== "huggingface") return [];
  const first = plan.targets[0];
  if (first?.kind !== "hub") return [];
  const problems: FileProblem[] = [];
  for (const ref of model.refs) {
    const content = await readFileOrUndefined(refPath(first.repo, ref));
    if (content !== model.revision) {
      problems.push({
        file: `refs/${ref}`,
        state: "missing",
        reason:
          content === undefined ? "missing (loading by repo id needs it)" : `holds ${JSON.stringify(content)}, expected ${model.revision}`,
      });
    }
  }
  return problems;
}
