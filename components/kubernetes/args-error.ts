/** A component's args that cannot work: the message names the component, the arg and what it must be. */
export class ComponentArgsError extends Error {
  override name = "ComponentArgsError";
}
