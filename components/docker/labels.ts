import { type ContractLabelInput, contractAnnotations, contractLabels } from "../core/contract";

/**
 * Contract labels in the `{label, value}` list form Docker containers and volumes take. Docker has
 * no annotations and no label length limit: the whole manifest digest rides along as a label.
 */
export function dockerLabels(input: ContractLabelInput): { label: string; value: string }[] {
  return Object.entries({ ...contractLabels(input), ...contractAnnotations(input) }).map(([label, value]) => ({ label, value }));
}
