// Header only: LLVMFuzzerRunDriver comes from libFuzzer.
