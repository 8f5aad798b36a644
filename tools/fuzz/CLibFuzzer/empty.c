// CLibFuzzer only declares libFuzzer's driver entry (include/CLibFuzzer.h); SwiftPM wants a source file.
