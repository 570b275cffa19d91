// `prisma`: the headless command line. Links the core (model + datasets) only, which
// proves everything the explorer does runs without Qt.

#include "app/cli/CliArgs.h"
#include "app/cli/Commands.h"
#include "app/cli/DatasetCommand.h"

#include "model/Error.h"
#include "model/runtime/Runtime.h"

#include <c10/util/Exception.h>

#include <iostream>

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;

void usage(std::ostream& out) {
  out << "usage: prisma COMMAND [ARGS]\n"
         "  info [MODEL]                      format, config, parameters; LibTorch, threads, BLAS\n"
         "  run MODEL --input SPEC --out OUT.safetensors [--names REGEX]...\n"
         "                                    run and write every cached hook plus `output`\n"
         "  bench forward [--reps N] [--quick] [--model mouse|vit-b16] [--threads N]\n"
         "                                    forward / full-cache timings next to matmul GFLOP/s\n"
         "  dataset list|info|export ...      built-in datasets\n"
         "SPEC: an image file, or FILE.safetensors:KEY[:INDEX] (a preprocessed [batch, C, H, W] tensor)\n";
}

}  // namespace

int main(int argc, char** argv) {
  prisma::runtime::reexecWithTunedBlasIfNeeded(argv);
  prisma::runtime::configureThreads();

  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? kExitUsage : 0;
  }
  const std::string command = argv[1];
  const prisma::cli::Args args(argv + 2, argv + argc);
  try {
    if (command == "info") return prisma::cli::infoCommand(args, std::cout);
    if (command == "run") return prisma::cli::runCommand(args, std::cout);
    if (command == "bench") return prisma::cli::benchCommand(args, std::cout);
    if (command == "dataset") return prisma::cli::runDatasetCommand(args, std::cout, std::cerr);
    std::cerr << "prisma: unknown command '" << command << "'\n";
    usage(std::cerr);
    return kExitUsage;
  } catch (const prisma::cli::UsageError& e) {
    std::cerr << "prisma " << command << ": " << e.what() << "\n";
    return kExitUsage;
  } catch (const c10::Error& e) {
    std::cerr << "prisma " << command << ": " << e.what_without_backtrace() << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "prisma " << command << ": " << e.what() << "\n";
    return kExitFailure;
  }
}
