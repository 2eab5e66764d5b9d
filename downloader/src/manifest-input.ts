import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { z } from "zod";
import { MANIFEST_ENV } from "../../components/core/contract.js";
import { type Manifest, ManifestSchema } from "../../components/core/manifest.js";
import { ManifestError, UsageError } from "./errors.js";

export interface ManifestSource {
  /** `--manifest`: a file path, or `-` for stdin. */
  file: string | undefined;
  env: Record<string, string | undefined>;
  stdin: Readable;
}

export interface LoadedManifest {
  manifest: Manifest;
  /** Where it came from, for messages: a path, "stdin" or the env variable's name. */
  origin: string;
}

/** Read the manifest from `--manifest FILE`, stdin (`-`) or MODEL_CACHE_MANIFEST, and validate it. */
export async function loadManifest(source: ManifestSource): Promise<LoadedManifest> {
  const { text, origin } = await readManifestText(source);
  return { manifest: parseManifestText(text, origin), origin };
}

async function readManifestText(source: ManifestSource): Promise<{ text: string; origin: string }> {
  if (source.file === "-") return { text: await readAll(source.stdin), origin: "stdin" };
  if (source.file !== undefined) {
    try {
      return { text: await readFile(source.file, "utf8"), origin: source.file };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ManifestError(`cannot read the manifest file ${source.file} (${code ?? String(error)})`);
    }
  }
  const fromEnv = source.env[MANIFEST_ENV];
  if (fromEnv === undefined || fromEnv.trim() === "") {
    throw new UsageError(`no manifest: pass --manifest FILE (or - for stdin), or set ${MANIFEST_ENV} to the manifest JSON`);
  }
  return { text: fromEnv, origin: MANIFEST_ENV };
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

/** Parse JSON text into a validated manifest; errors name the manifest and each bad field. */
export function parseManifestText(text: string, origin: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // Never the parser's own message: it quotes the input (point --manifest at a token file and it prints the token).
    throw new ManifestError(`the manifest (${origin}) is not valid JSON${jsonErrorPosition(text, error)}`);
  }
  const result = ManifestSchema.safeParse(value);
  if (!result.success) {
    const { issues } = result.error;
    const details = issues.slice(0, MAX_ISSUES).map((issue) => clip(`${describePath(issue.path, value)}: ${describeIssue(issue, value)}`));
    if (issues.length > MAX_ISSUES) details.push(`… and ${issues.length - MAX_ISSUES} more problems`);
    throw new ManifestError(`the manifest (${origin}) is invalid:\n${details.map((line) => `  ${line}`).join("\n")}`);
  }
  return result.data;
}

/** However large the manifest, the error stays readable: the first problems, each one line of bounded length. */
export const MAX_ISSUES = 20;
const MAX_LINE = 300;

function clip(line: string): string {
  const flat = [...line].map((c) => (c < " " || c === "\u007f" ? " " : c)).join("");
  return flat.length > MAX_LINE ? `${flat.slice(0, MAX_LINE)}…` : flat;
}

/** " at line L, column C" from V8's message when it gives a position, else nothing; never any of the text itself. */
function jsonErrorPosition(text: string, error: unknown): string {
  const match = /position (\d+)/.exec(error instanceof Error ? error.message : "");
  if (!match) return text.trim() === "" ? " (it is empty)" : "";
  const at = Math.min(Number(match[1]), text.length);
  const before = text.slice(0, at);
  const line = before.split("\n").length;
  return ` (at line ${line}, column ${at - before.lastIndexOf("\n")})`;
}

/** `models[1].files[0].sha256`, plus the model id when there is one, so the user finds it fast. */
function describePath(path: PropertyKey[], input: unknown): string {
  let text = "";
  for (const part of path) {
    text += typeof part === "number" ? `[${part}]` : `${text === "" ? "" : "."}${String(part)}`;
  }
  const model = modelAt(path, input);
  if (model?.id) text += ` (model ${JSON.stringify(model.id.slice(0, 80))})`;
  return text === "" ? "(manifest)" : text;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const model = modelAt(issue.path, input);
  if (issue.code === "invalid_union" && issue.path.at(-1) === "kind" && model) {
    const options = "options" in issue && Array.isArray(issue.options) ? issue.options.map((o) => JSON.stringify(o)).join(", ") : "";
    return `unknown model kind ${JSON.stringify(model.kind).slice(0, 80)}${options ? `; expected one of ${options}` : ""}`;
  }
  return issue.message;
}

function modelAt(path: PropertyKey[], input: unknown): z.infer<typeof ModelPeek> | undefined {
  if (path[0] !== "models" || typeof path[1] !== "number") return undefined;
  const parsed = ModelPeek.safeParse((input as { models?: unknown[] } | null)?.models?.[path[1]]);
  return parsed.success ? parsed.data : undefined;
}

const ModelPeek = z.object({ id: z.string().optional(), kind: z.unknown() }).loose();
