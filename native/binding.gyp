{
  "targets": [
    {
      "target_name": "ebsim_xts",
      "sources": ["src/ebsim_addon.c", "src/ebsim_xts.c", "src/ebsim_sector_io.c", "src/ebsim_gcm.c"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra", "-fno-strict-aliasing"],
      "defines": ["NAPI_VERSION=8"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] }
    }
  ]
}
