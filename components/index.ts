/**
 * The one entry a program of your own imports: the target-neutral core (contract, catalog,
 * manifest, sizing, start period) and the components per target. See README, "Using the
 * components in your own program", and examples/existing-cluster/.
 */
export * as aws from "./aws/index";
export * as core from "./core/index";
export * as docker from "./docker/index";
export * as kubernetes from "./kubernetes/index";
