// Runs a libFuzzer target's entry point without libFuzzer: on every file named on the
// command line, else on a few built-in inputs (one per parser the harnesses select, plus
// the hostile shapes that once crashed the readers: deep JSON, a forged image header, a negative count).
// The normal build links each harness with this main and runs it as a CTest test, so the
// harnesses keep compiling and linking against the current libraries with the everyday
// compiler; the real fuzz build needs clang and its own build directory (tests/fuzz).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr int kDeepLevels = 10'000;

// A command line as fuzz_cli_args reads one: '\0'-separated.
std::string arguments(const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) out += (i ? std::string(1, '\0') : std::string()) + args[i];
  return out;
}

std::vector<std::string> builtinInputs() {
  std::string deep(static_cast<size_t>(kDeepLevels), '[');
  deep += std::string(static_cast<size_t>(kDeepLevels), ']');
  const std::string png("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x4e\x20\x00\x00\x4e\x20\x08\x02\x00\x00\x00", 29);
  return {
      "",
      std::string(1, '\0'),
      std::string("\x00\x10\x00\x00\x00\x00\x00\x00\x00{}", 11),           // safetensors: an empty header
      std::string("\x01\x80\x02}q\x00.", 7),                               // pickle: an empty dict
      "\x02{\"image_size\":32,\"patch_size\":8,\"d_model\":64,\"n_heads\":4}",  // Prisma config
      "\x02" + deep,                                                        // JSON nested 10,000 deep
      std::string("\x03\x00{}", 3),                                         // an empty config.json
      std::string("\x04\x80\x02}q\x00.", 7),                               // torch.save archive, empty dict
      "\x03\x04{\"model_cfg\":{}}",                                          // open_clip config, no towers
      "\x05\x01{\"d_in\":64,\"d_sae\":-1}",                                   // SAELens cfg.json, a negative size
      std::string("\x06\x80\x02}q\x00.", 7),                               // an SAE checkpoint, empty dict
      std::string(1, '\0') + "a photo of a cat &amp; \xef\xac\x81sh",           // tokenizer text (with a ligature)
      std::string("\x05\x80\x00" "a b\n</w> <start_of_text>", 27),          // tokenizer: merges edited mid-file
      png,                                                                  // 20,000 x 20,000 declared
      std::string("\xff\xd8\xff\xe0\x00\x10JFIF", 10),                    // a JPEG cut short
      arguments({"--reps", "-1"}),
      arguments({"--max-memory", "lots", "--layer", "99999999999999999999"}),
  };
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: cannot open\n", argv[i]);
      return 1;
    }
    inputs.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (inputs.empty()) inputs = builtinInputs();
  for (const auto& input : inputs)
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  std::printf("%zu inputs, no crash\n", inputs.size());
  return 0;
}
