/* empty.c - stands in while a library folder has no sources yet, so CMake can configure. */
typedef int fy_empty_translation_unit;
