import { type ContractLabelInput, contractLabels } from "../core/contract";

/** Contract labels in the `{label, value}` list form Docker containers and volumes take. */
export function dockerLabels(input: ContractLabelInput): { label: string; value: string }[] {
  return Object.entries(contractLabels(input)).map(([label, value]) => ({ label, value }));
}
