/** What a rule reports: mandatory (at the policy's configured level) or advisory (always advisory). */
export type Level = "mandatory" | "advisory";

export interface Finding {
  level: Level;
  message: string;
}

export const mandatory = (message: string): Finding => ({ level: "mandatory", message });
export const advisory = (message: string): Finding => ({ level: "advisory", message });
export const previewUnknown = (what: string): Finding =>
  advisory(`can't check during preview: ${what} is unknown until the resources it depends on exist; the update checks it`);
