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

/** Seconds from the serving process's start until this model is loaded, with its provenance. */
export const LoadTimeSchema = z
  .object({
    seconds: z.number().nonnegative(),
    basis: z.enum(["measured", "estimate"]),
    source: z.string().min(1, "say where the number comes from"),
  })
  .strict();

type DeviceMemoryShape = Record<Device, z.ZodOptional<typeof DeviceMemorySchema>>;
type DeviceLoadShape = Record<Device, z.ZodOptional<typeof LoadTimeSchema>>;

/** What a catalog entry says besides its manifest model: description, memory and load time per device. */
export const catalogMeta = {
  description: z.string().min(1),
  /** Memory per device; a model without an entry for a device cannot be enabled on it. */
  memory: z
    .object(Object.fromEntries(DEVICES.map((d) => [d, DeviceMemorySchema.optional()])) as DeviceMemoryShape)
    .strict()
    .refine((m) => DEVICES.some((d) => m[d] !== undefined), { message: `give memory for at least one device (${DEVICES.join(", ")})` }),
  /** Load seconds per device: the start period is derived from them (components/core/startup.ts). */
  load: z.object(Object.fromEntries(DEVICES.map((d) => [d, LoadTimeSchema.optional()])) as DeviceLoadShape).strict(),
};

/** Every device an entry has memory for needs a load time too: the start period is derived from it. */
export function requireLoadPerDevice(
  entry: { memory: Partial<Record<Device, unknown>>; load: Partial<Record<Device, unknown>> },
  ctx: z.RefinementCtx,
): void {
  for (const device of DEVICES) {
    if (entry.memory[device] !== undefined && entry.load[device] === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["load", device],
        message: `give the load time on ${device} (memory is given for it): { seconds, basis: measured | estimate, source } — measure it with model-cache measure`,
      });
    }
  }
}

export const CatalogEntrySchema = z
  .discriminatedUnion("kind", [
    HuggingFaceModelSchema.extend(catalogMeta),
    WhisperModelSchema.extend(catalogMeta),
    FileModelSchema.extend(catalogMeta),
  ])
  .superRefine(requireLoadPerDevice);

export const CatalogSchema = z.array(CatalogEntrySchema).superRefine((entries, ctx) => {
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    if (seen.has(entry.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate catalog id "${entry.id}"` });
    seen.add(entry.id);
  });
});

export type Measurement = z.infer<typeof MeasurementSchema>;
export type DeviceMemory = z.infer<typeof DeviceMemorySchema>;
export type LoadTime = z.infer<typeof LoadTimeSchema>;
export type CatalogEntry = z.infer<typeof CatalogEntrySchema>;

/** The part of a catalog entry that the downloader needs: its manifest model. */
export function toManifestModel(entry: CatalogEntry): ManifestModel {
  const { description: _description, memory: _memory, load: _load, ...model } = entry;
  return model as ManifestModel;
}
