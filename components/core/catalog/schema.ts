/**
 * The model catalog: every model a stack can enable, pinned (commit, checksums) and sized
 * (memory measured per device, with where each number comes from).
 */
import { z } from "zod";
import { DEVICES, type Device } from "../contract";
import { FileModelSchema, HuggingFaceModelSchema, type ManifestModel, WhisperModelSchema } from "../manifest";

/** One number with its provenance: a measurement (and how it was taken) or an estimate (and its basis). */
export const MeasurementSchema = z
  .object({
    mib: z.number().int().nonnegative(),
    basis: z.enum(["measured", "estimate"]),
    source: z.string().min(1, "say where the number comes from"),
  })
  .strict();

export const DeviceMemorySchema = z
  .object({
    /** Peak resident host (CPU) memory of the serving process attributable to this model, load + serve. */
    hostPeak: MeasurementSchema,
    /** GPU memory the model occupies (0 on cpu). */
    gpu: MeasurementSchema,
  })
  .strict();

type DeviceMemoryShape = Record<Device, z.ZodOptional<typeof DeviceMemorySchema>>;

const catalogMeta = {
  description: z.string().min(1),
  /** Memory per device; a model without an entry for a device cannot be enabled on it. */
  memory: z
    .object(Object.fromEntries(DEVICES.map((d) => [d, DeviceMemorySchema.optional()])) as DeviceMemoryShape)
    .strict()
    .refine((m) => DEVICES.some((d) => m[d] !== undefined), { message: `give memory for at least one device (${DEVICES.join(", ")})` }),
};

export const CatalogEntrySchema = z.discriminatedUnion("kind", [
  HuggingFaceModelSchema.extend(catalogMeta),
  WhisperModelSchema.extend(catalogMeta),
  FileModelSchema.extend(catalogMeta),
]);

export const CatalogSchema = z.array(CatalogEntrySchema).superRefine((entries, ctx) => {
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    if (seen.has(entry.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate catalog id "${entry.id}"` });
    seen.add(entry.id);
  });
});

export type Measurement = z.infer<typeof MeasurementSchema>;
export type DeviceMemory = z.infer<typeof DeviceMemorySchema>;
export type CatalogEntry = z.infer<typeof CatalogEntrySchema>;

/** The part of a catalog entry that the downloader needs: its manifest model. */
export function toManifestModel(entry: CatalogEntry): ManifestModel {
  const { description: _description, memory: _memory, ...model } = entry;
  return model as ManifestModel;
}
