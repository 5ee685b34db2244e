/**
 * onnxruntime's Linux builds keep a telemetry device id under ~/.cache/Microsoft/DeveloperTools and may
 * upload usage events. A server for medical images sends nothing anywhere and writes only under its data
 * directory, so telemetry is off unless the operator sets ORT_DISABLE_TELEMETRY=0. Imported before
 * onnxruntime-node (ES modules evaluate their imports in order; the native library reads the variable).
 */
process.env.ORT_DISABLE_TELEMETRY ||= '1';

export {};
