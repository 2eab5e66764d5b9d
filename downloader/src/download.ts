/**
 * `model-cache download`: make every file of every model present and verified.
 * A warm cache is decided from snapshot links, stat and verification records alone: no request.
 * Otherwise, per missing file: HEAD for the blob's name (unless the manifest already gives it),
 * lock the blob, fetch it resumably, verify, rename into place, record, link the snapshot entry;
 * refs are written once every file of a model is in place.
 */
import { lstat, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { SHA1_RE } from "../../components/core/contract.js";
import type { Manifest } from "../../components/core/manifest.js";
import { ChecksumMismatchError, CliError, FilesystemError, InterruptedError, toCliError } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import { isErrno, mkdirNoLinks, randomSuffix, symlinkAtomic, writeFileAtomic } from "./fs-util.js";
import { hashFile } from "./hashing.js";
import { HttpClient, redact, redactText } from "./http.js";
import { headHubFile, hubHints, resolveUrl } from "./hub.js";
import {
  assertStateDirReal,
  blobPath,
  ensureCacheDirTag,
  locksDir,
  partialsDir,
  pointerTarget,
  realRoot,
  stateDir,
  urlPartialStem,
  writeRef,
} from "./layout.js";
import { acquireLock, lockKey } from "./lock.js";
import {
  checkedAgainst,
  compareDigests,
  etagProblem,
  expectedContent,
  type FileTarget,
  type HubTarget,
  type Inspection,
  inspectTarget,
  type ModelPlan,
  planManifest,
  targetSize,
  type UrlTarget,
} from "./plan.js";
import { forEachLimit } from "./pool.js";
import type { Reporter, TrackedFile } from "./progress.js";
import { MAX_DEFAULT_CONNECTIONS } from "./ranged.js";
import { blobRecordPath, type ExpectedContent, readRecord, recordProblem, statOrUndefined, writeRecord } from "./records.js";
import type { ModelReport } from "./report.js";
import { withRetries } from "./retry.js";
import { type TransferContext, type TransferResult, transfer } from "./transfer.js";

export interface DownloadSettings {
  root: string;
  endpoint: string;
  token: string | undefined;
  concurrency: number;
  retries: number;
  backoffMs: number;
  timeoutMs: number;
  minBytesPerSecond: number;
  maxTimeMs: number;
  maxBytes: number;
  /** Connections per file (undefined: from the file's size). */
  connections: number | undefined;
  lockStaleMs: number;
  durable: boolean;
  userAgent: string;
}

interface FileOutcome {
  size: number;
  fetched: number;
  verified: boolean;
}

interface ModelRun {
  plan: ModelPlan;
  startedAt: number | undefined;
  endedAt: number | undefined;
  outcomes: FileOutcome[];
  error: CliError | undefined;
}

export interface DownloadResult {
  models: ModelReport[];
  /** HTTP requests sent (0 on a warm cache). */
  requests: number;
}

export async function runDownload(
  manifest: Manifest,
  settings: DownloadSettings,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<DownloadResult> {
  const began = Date.now();
  // Every path below is built on the root's real path: a link below it then shows as a difference.
  settings = { ...settings, root: await realRoot(settings.root, { create: true }) };
  await assertStateDirReal(settings.root);
  const plans = planManifest(settings.root, manifest);
  const all = new AbortController();
  const onExternalAbort = () => all.abort(signal.reason);
  signal.addEventListener("abort", onExternalAbort, { once: true });

  const runs: ModelRun[] = plans.map((plan) => ({ plan, startedAt: undefined, endedAt: undefined, outcomes: [], error: undefined }));

  const inspections = await Promise.all(
    runs.map((run) => Promise.all(run.plan.targets.map((target) => inspectTarget(settings.root, target)))),
  );
  const work: { run: ModelRun; target: FileTarget; inspection: Inspection }[] = [];
  runs.forEach((run, i) => {
    run.plan.targets.forEach((target, j) => {
      const inspection = inspections[i]![j]!;
      if (inspection.state === "verified") {
        run.outcomes.push({ size: inspection.size, fetched: 0, verified: inspection.checkedAgainst.length > 0 });
      } else {
        work.push({ run, target, inspection });
      }
    });
  });

  let http: HttpClient | undefined;
  try {
    if (work.length > 0) {
      await ensureWritable(settings.root);
      http = HttpClient.create({
        hubOrigin: new URL(settings.endpoint).origin,
        token: settings.token,
        timeoutMs: settings.timeoutMs,
        // Per host: the parallel files, or the ranges of one large file.
        maxSockets: Math.max(2, settings.concurrency, settings.connections ?? MAX_DEFAULT_CONNECTIONS),
        userAgent: settings.userAgent,
      });
      const client = http;
      // Largest first: the long transfers start early and the small ones fill the gaps.
      work.sort((a, b) => (targetSize(b.target) ?? 1e6) - (targetSize(a.target) ?? 1e6));
      const tracked = new Map(work.map((item) => [item, reporter.file(item.target.label, targetSize(item.target))]));
      await forEachLimit(work, settings.concurrency, async (item) => {
        const { run, target } = item;
        const progress = tracked.get(item)!;
        if (all.signal.aborted) {
          progress.finish("skipped");
          return;
        }
        run.startedAt ??= Date.now();
        try {
          const outcome = await ensureTarget(target, item.inspection, {
            settings,
            http: client,
            reporter,
            progress,
            signal: all.signal,
          });
          run.outcomes.push(outcome);
          progress.finish(outcome.fetched > 0 ? "downloaded" : "verified local bytes");
        } catch (error) {
          progress.finish("failed");
          // The other files go on (even this model's: they are kept for the next run), unless nothing can
          // succeed any more: a full or read-only disk, or a signal.
          const failure = all.signal.aborted && error === all.signal.reason ? undefined : toCliError(error);
          if (failure) {
            if (failure instanceof FilesystemError || failure instanceof InterruptedError) all.abort(failure);
            run.error ??= failure;
          }
        } finally {
          run.endedAt = Date.now();
        }
      });
    }

    for (const run of runs) {
      if (run.error || run.outcomes.length !== run.plan.targets.length) {
        const reason = all.signal.reason ?? run.error;
        run.error ??= reason instanceof CliError ? reason : new CliError("not finished", EXIT.unexpected);
        continue;
      }
      const { model } = run.plan;
      try {
        if (model.kind === "huggingface") {
          const repo = (run.plan.targets[0] as HubTarget).repo;
          for (const ref of model.refs) await writeRef(repo, ref, model.revision);
        }
      } catch (error) {
        run.error = toCliError(error);
      }
    }
    if (runs.some((run) => !run.error)) await ensureCacheDirTag(settings.root).catch(() => undefined);
  } finally {
    signal.removeEventListener("abort", onExternalAbort);
    http?.close();
  }

  const requests = http ? http.sent.GET + http.sent.HEAD : 0;
  const models = runs.map((run) => modelReport(run, began));
  return { models, requests };
}

function modelReport(run: ModelRun, began: number): ModelReport {
  const { model, targets } = run.plan;
  const fetchedBytes = run.outcomes.reduce((sum, o) => sum + o.fetched, 0);
  const bytes = run.error ? targets.reduce((sum, t) => sum + (targetSize(t) ?? 0), 0) : run.outcomes.reduce((sum, o) => sum + o.size, 0);
  const seconds = ((run.endedAt ?? Date.now()) - (run.startedAt ?? began)) / 1000;
  const report: ModelReport = {
    id: model.id,
    kind: model.kind,
    status: run.error ? "failed" : run.startedAt === undefined ? "ok" : "downloaded",
    files: targets.length,
    bytes,
    fetchedBytes,
    seconds: Math.round(seconds * 1000) / 1000,
    verified: !run.error && run.outcomes.every((o) => o.verified),
  };
  if (run.error) {
    report.reason = run.error.message;
    report.exitCode = run.error.exitCode;
  }
  return report;
}

/** Fail early and plainly when the cache cannot be written (read-only mount, wrong owner). */
async function ensureWritable(root: string): Promise<void> {
  try {
    await mkdirNoLinks(stateDir(root));
    const probe = join(stateDir(root), `.write-probe.${randomSuffix()}`);
    await writeFileAtomic(probe, "");
    await rm(probe, { force: true });
  } catch (error) {
    const failure = toCliError(error);
    if (failure instanceof FilesystemError)
      throw new FilesystemError(`cannot write the cache ${root}: ${failure.message}`, { cause: error });
    throw failure;
  }
}

interface EnsureContext {
  settings: DownloadSettings;
  http: HttpClient;
  reporter: Reporter;
  progress: TrackedFile;
  signal: AbortSignal;
}

function transferContext(ctx: EnsureContext): TransferContext {
  return {
    http: ctx.http,
    retries: ctx.settings.retries,
    backoffMs: ctx.settings.backoffMs,
    signal: ctx.signal,
    durable: ctx.settings.durable,
    progress: ctx.progress,
    log: (message) => ctx.reporter.log(message),
    timeoutMs: ctx.settings.timeoutMs,
    minBytesPerSecond: ctx.settings.minBytesPerSecond,
    maxTimeMs: ctx.settings.maxTimeMs,
    maxBytes: ctx.settings.maxBytes,
    connections: ctx.settings.connections,
  };
}

async function ensureTarget(target: FileTarget, inspection: Inspection, ctx: EnsureContext): Promise<FileOutcome> {
  return target.kind === "hub" ? ensureHubFile(target, inspection, ctx) : ensureUrlFile(target, inspection, ctx);
}

/** Hash bytes already on disk; true (and a record written) when they are what the manifest pins. */
async function adoptLocal(
  path: string,
  recordPath: string,
  expected: ExpectedContent,
  against: string[],
  gitBlob: boolean,
  etag: string | undefined,
  signal: AbortSignal,
): Promise<{ size: number } | undefined> {
  const digests = await hashFile(path, { gitBlob, signal });
  if (compareDigests(digests, digests.size, expected)) return undefined;
  if (etag && etagProblem(etag, digests.sha256, digests.gitSha1)) return undefined;
  if (!(await writeRecord(recordPath, path, digests, against, digests.info))) return undefined;
  return { size: digests.size };
}

/** A symlink (planted, or to outside the cache) or anything else where a file belongs is never hashed or trusted: it goes. */
async function removeUnlessRegularFile(path: string, label: string, ctx: EnsureContext): Promise<void> {
  const info = await lstat(path).catch((error: unknown) => {
    if (isErrno(error, "ENOENT")) return undefined;
    throw error;
  });
  if (!info || info.isFile()) return;
  ctx.reporter.log(`${label}: ${path} is ${info.isSymbolicLink() ? "a symbolic link" : "not a regular file"}; replacing it`);
  await rm(path, { recursive: info.isDirectory(), force: true });
}

/** The record of a file just renamed into place, vouching only for the bytes it holds (rehashed if it is not the file that was hashed). */
async function recordCommitted(recordPath: string, path: string, result: TransferResult, against: string[], label: string): Promise<void> {
  if (await writeRecord(recordPath, path, result.digests, against, result.committed)) return;
  await rm(path, { force: true });
  throw new CliError(
    `${label}: the file changed on disk right after it was verified (another writer?); removed it: run download again`,
    EXIT.checksum,
  );
}

async function isRecordedAndValid(path: string, recordPath: string, expected: ExpectedContent): Promise<boolean> {
  const info = await statOrUndefined(path);
  if (!info) return false;
  const record = await readRecord(recordPath);
  return !!record && recordProblem(record, info, expected) === undefined;
}

async function ensureHubFile(target: HubTarget, inspection: Inspection, ctx: EnsureContext): Promise<FileOutcome> {
  const { model, file, repo } = target;
  const { settings, signal } = ctx;

  // Bytes a snapshot link already designates (written by an earlier run whose record got lost, or by
  // huggingface_hub itself): verify them locally instead of downloading them again.
  if (inspection.state === "unverified" && inspection.etag) {
    const etag = inspection.etag;
    const adopted = await adoptLocal(
      inspection.existing,
      blobRecordPath(settings.root, repo.folder, etag),
      expectedContent(target, etag),
      checkedAgainst(target, etag),
      SHA1_RE.test(etag),
      etag,
      signal,
    );
    if (adopted) return { size: adopted.size, fetched: 0, verified: checkedAgainst(target, etag).length > 0 };
  }

  const hubRef = { endpoint: settings.endpoint, repo: model.repo, revision: model.revision, path: file.path, hasToken: !!settings.token };
  let etag: string;
  let size = file.size;
  let directUrl: URL | undefined;
  if (file.gitSha1) {
    // A git-stored file's blob is named by its git sha1, which the manifest gives: no HEAD needed.
    etag = file.gitSha1;
  } else {
    const meta = await withRetries(`${model.id}: ${file.path}`, { ...transferContext(ctx) }, () => headHubFile(ctx.http, hubRef, signal));
    if (meta.commit !== model.revision) {
      throw new CliError(`${model.id}: ${file.path}: the hub answered commit ${meta.commit} for revision ${model.revision}`, EXIT.network);
    }
    etag = meta.etag;
    if (file.size !== undefined && meta.size !== undefined && meta.size !== file.size) {
      throw new ChecksumMismatchError(model.id, file.path, "size", String(file.size), String(meta.size), "as the hub reports it");
    }
    if (file.sha256 && meta.lfs && etag !== file.sha256) {
      throw new ChecksumMismatchError(model.id, file.path, "sha256", file.sha256, etag, "the hub's etag for this file at this commit");
    }
    size ??= meta.size;
    directUrl = meta.location;
  }

  const blob = blobPath(repo, etag);
  const recordPath = blobRecordPath(settings.root, repo.folder, etag);
  const expected = expectedContent(target, etag);
  const against = checkedAgainst(target, etag);
  const gitBlob = SHA1_RE.test(etag);
  let outcome: FileOutcome | undefined;

  const release = await acquireLock(locksDir(settings.root), lockKey("blob", repo.folder, etag), {
    staleMs: settings.lockStaleMs,
    signal,
    onWait: () => ctx.reporter.log(`${target.label}: another downloader is fetching blob ${etag}; waiting for it`),
    done: () => isRecordedAndValid(blob, recordPath, expected),
  });
  try {
    // Refuses a symlinked repo folder or blobs/ before anything in it is read, hashed or removed.
    await mkdirNoLinks(repo.blobsDir);
    await removeUnlessRegularFile(blob, target.label, ctx);
    if (await isRecordedAndValid(blob, recordPath, expected)) {
      outcome = { size: Number((await statOrUndefined(blob))?.size ?? 0), fetched: 0, verified: against.length > 0 };
    } else if (await statOrUndefined(blob)) {
      const adopted = await adoptLocal(blob, recordPath, expected, against, gitBlob, etag, signal);
      if (adopted) outcome = { size: adopted.size, fetched: 0, verified: against.length > 0 };
      else {
        ctx.reporter.log(`${target.label}: blob ${etag} does not match its checksum; replacing it`);
        await rm(blob, { force: true });
      }
    }
    if (!outcome) {
      const result = await transfer(
        {
          url: resolveUrl(hubRef),
          directUrl,
          partialDir: repo.blobsDir,
          partialStem: etag,
          finalPath: blob,
          size,
          gitBlob,
          check: (digests, actualSize) => {
            const mismatch = compareDigests(digests, actualSize, expected);
            if (mismatch) return mismatch;
            const wrongName = etagProblem(etag, digests.sha256, digests.gitSha1);
            return wrongName ? { algorithm: "hub etag", expected: etag, actual: digests.gitSha1 ?? digests.sha256 } : undefined;
          },
          hints: hubHints(hubRef),
          model: model.id,
          file: file.path,
        },
        transferContext(ctx),
      );
      await recordCommitted(recordPath, blob, result, against, target.label);
      outcome = { size: result.size, fetched: result.fetched, verified: against.length > 0 };
    }
  } finally {
    await release?.();
  }
  await symlinkAtomic(pointerTarget(target.pointer, blob), target.pointer);
  return outcome;
}

async function ensureUrlFile(target: UrlTarget, inspection: Inspection, ctx: EnsureContext): Promise<FileOutcome> {
  const { model } = target;
  const { settings, signal } = ctx;
  const expected = expectedContent(target);
  const against = checkedAgainst(target);
  const verified = against.length > 0;

  if (inspection.state === "unverified") {
    const adopted = await adoptLocal(target.path, target.recordPath, expected, against, false, undefined, signal);
    if (adopted) return { size: adopted.size, fetched: 0, verified };
  }

  const release = await acquireLock(locksDir(settings.root), lockKey("file", target.relative), {
    staleMs: settings.lockStaleMs,
    signal,
    onWait: () => ctx.reporter.log(`${target.label}: another downloader is fetching it; waiting`),
    done: () => isRecordedAndValid(target.path, target.recordPath, expected),
  });
  try {
    await mkdirNoLinks(dirname(target.path));
    await removeUnlessRegularFile(target.path, target.label, ctx);
    if (await isRecordedAndValid(target.path, target.recordPath, expected)) {
      return { size: Number((await statOrUndefined(target.path))?.size ?? 0), fetched: 0, verified };
    }
    const url = new URL(model.url);
    const result = await transfer(
      {
        url,
        partialDir: partialsDir(settings.root),
        // One stem per destination (two models may share a sha256 at two paths): never two transfers on one partial.
        partialStem: urlPartialStem(target.relative),
        finalPath: target.path,
        size: model.size,
        gitBlob: false,
        check: (digests, actualSize) => compareDigests(digests, actualSize, expected),
        hints: {
          what: `${model.id} (${redact(url)})`,
          unauthorized: `the URL wants credentials; the downloader sends HF_TOKEN to the hub (${redactText(settings.endpoint)}) only`,
          forbidden: "the server refused access to this URL: check the manifest's url",
          notFound: `check the manifest's url for model ${model.id}`,
        },
        model: model.id,
        file: target.relative,
      },
      transferContext(ctx),
    );
    await recordCommitted(target.recordPath, target.path, result, against, target.label);
    return { size: result.size, fetched: result.fetched, verified };
  } finally {
    await release?.();
  }
}
