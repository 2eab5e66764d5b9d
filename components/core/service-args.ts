/**
 * Model-server arguments may name catalog facts instead of repeating them, so a model pin lives
 * in one place (the catalog) and the server is pointed at exactly the snapshot the downloader wrote:
 *
 *   {snapshot:<id>}  <root>/models--org--name/snapshots/<commit>   (a local dir: no hub lookup at all)
 *   {repo:<id>}      org/name
 *   {revision:<id>}  the pinned commit
 *   {whisper:<id>}   <root>/whisper/<name>.pt
 *   {file:<id>}      <root>/<path>
 *   {root}           the cache root        {port}  the service's container port
 */
import type { CatalogEntry } from "./catalog/schema";
import { type CachePaths, snapshotRelPath, whisperRelPath } from "./contract";

export class ServiceArgsError extends Error {
  override name = "ServiceArgsError";
}

const PLACEHOLDER = /\{([a-z]+)(?::([a-z0-9._-]+))?\}/g;

export function expandServiceArgs(
  args: readonly string[],
  context: { models: readonly CatalogEntry[]; paths: CachePaths; port: number; key?: string },
): string[] {
  const key = context.key ?? "serviceArgs";
  const byId = new Map(context.models.map((m) => [m.id, m]));
  return args.map((arg, i) =>
    arg.replace(PLACEHOLDER, (whole, kind: string, id: string | undefined) => {
      if (kind === "root" && id === undefined) return context.paths.root;
      if (kind === "port" && id === undefined) return String(context.port);
      const model = id === undefined ? undefined : byId.get(id);
      if (!model) {
        throw new ServiceArgsError(
          `${key}[${i}]: ${whole} names ${id ? `model "${id}", which this stack does not enable` : "no model"}; ` +
            `enabled: ${[...byId.keys()].join(", ")}`,
        );
      }
      switch (kind) {
        case "snapshot":
        case "repo":
        case "revision":
          if (model.kind !== "huggingface") break;
          if (kind === "repo") return model.repo;
          if (kind === "revision") return model.revision;
          return `${context.paths.root}/${snapshotRelPath(model.repo, model.revision)}`;
        case "whisper":
          if (model.kind === "whisper") return `${context.paths.root}/${whisperRelPath(model.name)}`;
          break;
        case "file":
          if (model.kind === "file") return `${context.paths.root}/${model.path}`;
          break;
        default:
          throw new ServiceArgsError(
            `${key}[${i}]: unknown placeholder ${whole}; use snapshot, repo, revision, whisper, file, root or port`,
          );
      }
      throw new ServiceArgsError(`${key}[${i}]: ${whole} does not apply to "${model.id}", a ${model.kind} model`);
    }),
  );
}
