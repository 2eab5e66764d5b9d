/** defineRule: a rule that throws fails closed, naming the rule and the resource, in both halves. */
import { describe, expect, it } from "vitest";
import { defineRule } from "../../../policies/lib/rule";
import { dockerStack } from "../support/fixtures";
import { runPolicy } from "../support/in-process";

const broken = (where: "workload" | "stack") =>
  defineRule({
    name: "broken-rule",
    description: "A rule that throws, to show the pack fails closed.",
    severity: "high",
    remediationSteps: "None: it is a test.",
    ...(where === "workload"
      ? {
          checkWorkload() {
            throw new TypeError("boom in checkWorkload");
          },
        }
      : {
          checkStack() {
            throw new TypeError("boom in checkStack");
          },
        }),
  });

describe("a rule that throws", () => {
  it("is a mandatory violation naming the rule and the resource in the resource check, and in the stack check", async () => {
    const s = dockerStack();
    const result = await runPolicy(broken("workload"), s.all);
    const onService = result.reported.filter((r) => r.urn === s.service.urn);
    expect(onService.map((r) => [r.from, r.level])).toEqual([
      ["resource", "mandatory"],
      ["stack", "mandatory"],
    ]);
    expect(onService[0]?.message).toMatch(
      /^the broken-rule policy failed while checking resource urn:pulumi:test::model-cache::docker:index\/container:Container::models-service, so it checked nothing there and cannot let it pass.*TypeError: boom in checkWorkload/s,
    );
    expect(onService[1]?.message).toMatch(
      /failed while checking Container "models-service" \(urn:pulumi:test::model-cache::docker:index\/container:Container::models-service\)/,
    );
  });

  it("in a stack-wide check is a mandatory violation too", async () => {
    const result = await runPolicy(broken("stack"), dockerStack().all);
    expect(result.mandatory).toEqual([
      expect.stringMatching(/the broken-rule policy failed while checking the stack.*boom in checkStack/s),
    ]);
  });
});
