# node-gyp build of the same CPU sources as CMakeLists.txt (the primary build, through cmake-js).
# The source lists come from scripts/native-sources.mjs, so the two builds cannot drift.
{
  "variables": {
    "informer_cflags": ["-O3", "-fno-math-errno", "-std=c++17", "-fexceptions"]
  },
  "targets": [
    {
      "target_name": "informer_avx2",
      "type": "static_library",
      "sources": ["<!@(node scripts/native-sources.mjs avx2)"],
      "include_dirs": ["native"],
      "conditions": [
        ["target_arch=='x64' and OS!='win'", { "cflags_cc": ["<@(informer_cflags)", "-mavx2", "-mfma"] }],
        ["target_arch=='x64' and OS=='win'", { "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX2"] } } }]
      ],
      "cflags_cc!": ["-fno-exceptions"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-mavx2", "-mfma"] }
    },
    {
      "target_name": "informer_avx512",
      "type": "static_library",
      "sources": ["<!@(node scripts/native-sources.mjs avx512)"],
      "include_dirs": ["native"],
      "conditions": [
        ["target_arch=='x64' and OS!='win'", { "cflags_cc": ["<@(informer_cflags)", "-mavx512f", "-mavx2", "-mfma"] }],
        ["target_arch=='x64' and OS=='win'", { "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX512"] } } }]
      ],
      "cflags_cc!": ["-fno-exceptions"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-mavx512f", "-mavx2", "-mfma"] }
    },
    {
      "target_name": "informer",
      "dependencies": ["informer_avx2", "informer_avx512"],
      "sources": ["<!@(node scripts/native-sources.mjs cpu)"],
      "include_dirs": ["native", "<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["<@(informer_cflags)"],
      "cflags_cc!": ["-fno-exceptions"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3"], "GCC_ENABLE_CPP_EXCEPTIONS": "YES" },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] } }
    }
  ]
}
