-- Orthanc -> nnSAM server hook: when a study becomes stable (no new instance for "StableAge" seconds),
-- tell the nnSAM server, which segments the series its rules match and stores the SEGs back here.
--
-- Load it with Orthanc's "LuaScripts" option and configure it in the Orthanc configuration file:
--   "NnsamHook": { "Url": "http://127.0.0.1:8900", "Token": "<an nnSAM API token>" }
-- ("Token" may be omitted when the nnSAM server runs with NNSAM_AUTH=none on loopback.)
-- The SEG the server stores makes the study stable again; the server ignores non-image series (SEG, SR...)
-- and runs each rule once per series, so the hook cannot loop.

function OnStableStudy(studyId, tags, metadata)
  local config = GetOrthancConfiguration()['NnsamHook']
  if config == nil or config['Url'] == nil then
    print('nnsam-hook: no "NnsamHook": { "Url": ... } in the Orthanc configuration; study ignored')
    return
  end
  local headers = { ['Content-Type'] = 'application/json' }
  if config['Token'] ~= nil and config['Token'] ~= '' then
    headers['Authorization'] = 'Bearer ' .. config['Token']
  end
  local body = DumpJson({ orthancStudyId = studyId, studyInstanceUID = tags['StudyInstanceUID'] }, true)
  local ok, err = pcall(HttpPost, config['Url'] .. '/api/hooks/orthanc/stable-study', body, headers)
  if not ok then
    print('nnsam-hook: the nnSAM server did not accept study ' .. studyId .. ': ' .. tostring(err))
  end
end
