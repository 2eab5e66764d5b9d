/**
 * Set values in a YAML file by editing only the text of the nodes that change, so that every
 * other byte — comments, blank lines, quoting, flow or block style, folded scalars — stays as
 * the user wrote it. (Re-stringifying the parsed Document would re-flow long flow maps and
 * re-fold block scalars.) Node positions come from the `yaml` library's parsed Document.
 */
import { isMap, isScalar, isSeq, type Node, type Pair, parseDocument, stringify, type YAMLMap } from "yaml";

export interface YamlEdit {
  /** Keys and sequence indexes from the document's root, e.g. ["models", 0, "revision"]. */
  path: (string | number)[];
  value: unknown;
}

interface TextEdit {
  start: number;
  end: number;
  text: string;
  /** For inserts at one offset: the outer map's go after the inner map's. */
  indent?: number;
}

const RENDER = { lineWidth: 0, flowCollectionPadding: false } as const;

export function editYaml(source: string, edits: readonly YamlEdit[]): string {
  const doc = parseDocument(source);
  if (doc.errors.length > 0) throw new Error(`not valid YAML: ${doc.errors[0]?.message}`);
  const textEdits = edits.map((edit, index) => ({ ...planEdit(source, doc.contents as Node, edit), index }));
  // Back to front, so that earlier offsets stay valid (two inserts at one place keep their order);
  // two edits never overlap (distinct keys).
  let out = source;
  const order = (a: (typeof textEdits)[number], b: (typeof textEdits)[number]) =>
    b.start - a.start || (a.indent ?? 0) - (b.indent ?? 0) || b.index - a.index;
  for (const e of textEdits.sort(order)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

function planEdit(source: string, root: Node, edit: YamlEdit): TextEdit {
  let node: Node = root;
  for (let depth = 0; depth < edit.path.length; depth++) {
    const key = edit.path[depth] as string | number;
    const rest = edit.path.slice(depth + 1);
    if (typeof key === "number") {
      const item = (node as unknown as { items?: Node[] }).items?.[key];
      if (!item) throw new Error(`no item ${key} at ${edit.path.slice(0, depth).join(".")}`);
      node = item;
      continue;
    }
    if (!isMap(node)) throw new Error(`${edit.path.slice(0, depth).join(".")} is not a map`);
    if (node.flow) return replaceFlow(source, node, edit.path.slice(depth), edit.value);
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair<Node, Node> | undefined;
    if (!pair) return insertPair(source, node, key, nest(rest, edit.value));
    if (rest.length === 0) return replacePair(source, pair, key, edit.value);
    if (!pair.value || !(isMap(pair.value) || isSeq(pair.value))) return replacePair(source, pair, key, nest(rest, edit.value));
    node = pair.value;
  }
  throw new Error(`empty path`);
}

function nest(path: (string | number)[], value: unknown): unknown {
  return path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
}

/** `key: value` in place of the pair's key..value text (a comment after the value stays). */
function replacePair(source: string, pair: Pair<Node, Node>, key: string, value: unknown): TextEdit {
  const start = (pair.key as Node).range?.[0] as number;
  const value_ = pair.value;
  if (isScalar(value_) && !isCollection(value) && value_.range) {
    // A scalar keeps its place (and the comment on its line): only its text changes.
    return { start: value_.range[0], end: value_.range[1], text: stringify(value, RENDER).trimEnd() };
  }
  const flow = (value_ as { flow?: boolean } | null)?.flow === true;
  if (flow && value_?.range) {
    // A flow collection stays one: `load: {cpu: {…}}` keeps its style.
    const end = trimTrailingNewlines(source, value_.range[0], value_.range[1]);
    return { start: value_.range[0], end, text: stringify(value, { ...RENDER, collectionStyle: "flow" }).trimEnd() };
  }
  const end = value_?.range?.[1] ?? (pair.key as Node).range?.[1] ?? start;
  const indent = columnOf(source, start);
  return { start, end: trimTrailingNewlines(source, start, end), text: render(key, value, indent).trimStart() };
}

/** A new `key: value` line after the map's last entry, at the map's indentation. */
function insertPair(source: string, map: YAMLMap, key: string, value: unknown): TextEdit {
  const first = map.items[0]?.key as Node | undefined;
  const indent = first?.range ? columnOf(source, first.range[0]) : 0;
  const end = trimTrailingNewlines(source, map.range?.[0] ?? 0, map.range?.[1] ?? source.length);
  // After the end of the map's last line (past a comment on it).
  const lineEnd = source.indexOf("\n", end);
  const at = lineEnd < 0 ? source.length : lineEnd;
  return { start: at, end: at, text: `\n${render(key, value, indent).trimEnd()}`, indent };
}

/** A flow map (`{a: 1, b: {c: 2}}`) is rewritten as one flow map with the value set. */
function replaceFlow(source: string, map: YAMLMap, path: (string | number)[], value: unknown): TextEdit {
  const js = map.toJSON() as Record<string, unknown>;
  let target = js;
  for (const key of path.slice(0, -1)) {
    const next = target[key as string];
    target[key as string] = next !== null && typeof next === "object" ? next : {};
    target = target[key as string] as Record<string, unknown>;
  }
  target[path[path.length - 1] as string] = value;
  const [start, valueEnd] = map.range as [number, number, number];
  return {
    start,
    end: trimTrailingNewlines(source, start, valueEnd),
    text: stringify(js, { ...RENDER, collectionStyle: "flow" }).trimEnd(),
  };
}

function render(key: string, value: unknown, indent: number): string {
  const pad = " ".repeat(indent);
  return stringify({ [key]: value }, RENDER)
    .trimEnd()
    .split("\n")
    .map((line) => pad + line)
    .join("\n");
}

function isCollection(value: unknown): boolean {
  return value !== null && typeof value === "object";
}

function columnOf(source: string, offset: number): number {
  return offset - (source.lastIndexOf("\n", offset - 1) + 1);
}

/** A block node's range ends after its trailing newline(s); edits stop before them. */
function trimTrailingNewlines(source: string, start: number, end: number): number {
  let e = end;
  while (e > start && (source[e - 1] === "\n" || source[e - 1] === " " || source[e - 1] === "\r")) e--;
  return e;
}
