/** What the registry commands need of the CLI's Io (cli.ts passes its own). */
export interface RegistryIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  signal?: AbortSignal;
}
