/**
 * pinned-models: the downloader's manifest pins every hub model to a 40-hex commit and every file
 * to a checksum. A file without one is allowed (advisory) only where the manifest itself says
 * `"allowUnverified": true`; a hub model without a commit never is.
 */
import { COMMIT_RE, MANIFEST_ENV, type ManifestModel, SHA1_RE, SHA256_RE, unverifiedFiles } from "../lib/core";
import { containerWhere } from "../lib/hints";
import { readManifest } from "../lib/manifest";
import { advisory, defineRule, type Finding, mandatory, previewUnknown } from "../lib/rule";
import { downloaderContainers } from "../lib/view";

export const pinnedModels = defineRule({
  name: "pinned-models",
  description:
    "The downloader's manifest (MODEL_CACHE_MANIFEST) pins every Hugging Face model to a 40-hex commit and every file to a checksum " +
    "(sha256, or gitSha1 for git-stored files); files without one are advisory only where the manifest sets allowUnverified.",
  severity: "high",
  remediationSteps:
    "Pin each hub model in the catalog (components/core/catalog) to the full commit sha (never a branch or tag) and record each file's " +
    "sha256 (or git blob sha1). A stack may download unverified files only with model-cache:allowUnverified: true, which marks the " +
    "manifest; record the missing checksums and remove it. For a dev stack an organization may lower this policy to advisory.",
  checkWorkload(view) {
    return downloaderContainers(view).flatMap((cv) => {
      const where = containerWhere(view, cv);
      const reading = readManifest(cv.container);
      switch (reading.state) {
        case "absent":
          return [
            mandatory(
              `${where} is a downloader without ${MANIFEST_ENV}: nothing pins what it downloads; give it the manifest the program builds`,
            ),
          ];
        case "unknown":
          return [previewUnknown(`${MANIFEST_ENV} of ${where}`)];
        case "unreadable":
          return reading.why.includes("cannot read")
            ? [advisory(`cannot verify the pins of ${where}: ${reading.why}; pass the manifest JSON inline`)]
            : [mandatory(`${where}: ${reading.why}; the downloader would refuse it`)];
        default:
          return checkPins(where, reading.json, reading.issues);
      }
    });
  },
});

function checkPins(where: string, json: unknown, schemaIssues: string[]): Finding[] {
  const findings: Finding[] = [];
  const root = (json ?? {}) as { allowUnverified?: unknown; models?: unknown };
  const allowed = root.allowUnverified === true;
  const models = Array.isArray(root.models) ? root.models : [];
  if (!Array.isArray(root.models)) findings.push(mandatory(`the manifest of ${where} has no models list`));
  const wellFormed: ManifestModel[] = [];
  models.forEach((raw, i) => {
    const m = (raw ?? {}) as Record<string, unknown>;
    const id = typeof m["id"] === "string" ? m["id"] : `models[${i}]`;
    if (m["kind"] === "huggingface") {
      const revision = m["revision"];
      if (typeof revision !== "string" || !COMMIT_RE.test(revision)) {
        findings.push(
          mandatory(
            `model "${id}" of ${where} is pinned to ${typeof revision === "string" ? `"${revision}"` : "no revision"}, not a 40-hex commit sha; pin the full commit (never a branch or tag)`,
          ),
        );
      }
      const files = Array.isArray(m["files"]) ? (m["files"] as unknown[]) : [];
      if (files.length === 0) findings.push(mandatory(`model "${id}" of ${where} lists no files, so none can be verified`));
      files.forEach((f, j) => {
        const file = (f ?? {}) as Record<string, unknown>;
        const path = typeof file["path"] === "string" ? file["path"] : `files[${j}]`;
        malformed(findings, where, `file ${path} of model "${id}"`, file["sha256"], SHA256_RE, "sha256");
        malformed(findings, where, `file ${path} of model "${id}"`, file["gitSha1"], SHA1_RE, "gitSha1");
      });
      if (files.every((f) => f !== null && typeof f === "object")) wellFormed.push({ ...m, files } as unknown as ManifestModel);
    } else if (m["kind"] === "whisper" || m["kind"] === "file") {
      malformed(findings, where, `model "${id}"`, m["sha256"], SHA256_RE, "sha256");
      wellFormed.push(m as unknown as ManifestModel);
    } else {
      findings.push(
        mandatory(`model "${id}" of ${where} has an unknown kind ${JSON.stringify(m["kind"])}; use huggingface, whisper or file`),
      );
    }
  });
  for (const problem of unverifiedFiles(wellFormed)) {
    const what = `file ${problem.file} of model "${problem.id}" (${where}) has no checksum`;
    findings.push(
      allowed
        ? advisory(`${what}; the stack allowed unverified files; record its sha256 in the catalog`)
        : mandatory(`${what}; record its sha256 (or gitSha1) in the catalog, or set allowUnverified for this stack (dev only)`),
    );
  }
  const other = schemaIssues.filter((issue) => !/revision|sha256|gitSha1|no checksum|at least one file|kind/.test(issue));
  for (const issue of other) findings.push(mandatory(`the manifest of ${where} fails the downloader's schema at ${issue}`));
  return findings;
}

function malformed(findings: Finding[], where: string, what: string, value: unknown, re: RegExp, field: string): void {
  if (value === undefined) return;
  if (typeof value !== "string" || !re.test(value)) {
    findings.push(mandatory(`${what} (${where}) has a malformed ${field} ${JSON.stringify(value)}; record the real lower-case hex digest`));
  }
}
