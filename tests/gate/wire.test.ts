import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc.js";
import { describe, expect, it } from "vitest";
import { SECRET_SIG, SIG_KEY } from "../../gate/analyzer-client";

describe("the analyzer client's wire constants", () => {
  it("are the SDK's secret encoding (restated only so the pack boots before the SDK loads)", () => {
    expect(SIG_KEY).toBe(specialSigKey);
    expect(SECRET_SIG).toBe(specialSecretSig);
  });
});
