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

// One entry per command line of the overview; `prisma COMMAND --help` prints the entries of
// its COMMAND (bench has several), so every command answers --help the same way.
struct CommandHelp {
  const char* command;
  const char* text;
};

constexpr CommandHelp kCommandHelp[] = {
    {"info",
     "  info [MODEL]                      format, config, parameters; LibTorch, threads, BLAS\n"
     "       [--classes FILE|imagenet [--template T]]  a CLIP with that zero-shot head\n"},
    {"run",
     "  run MODEL --input SPEC --out OUT.safetensors [--names REGEX]...\n"
     "                                    run and write every cached hook plus `output`\n"
     "        [--text TEXT]... [--classes FILE|imagenet [--template 'a photo of a {}.']]\n"
     "                                    CLIP: also image_embeds, text_embeds, logits_per_image,\n"
     "                                    zero-shot logits over the classes' prompts\n"},
    {"tokenize",
     "  tokenize TEXT... [--context N] [--vocab FILE.txt.gz]\n"
     "                                    CLIP's BPE token ids, one row per text\n"},
    {"bench",
     "  bench forward [--reps N] [--quick] [--model mouse|vit-b16] [--threads N]\n"
     "                                    forward / full-cache timings next to matmul GFLOP/s\n"},
    {"dataset",
     "  dataset list|info|export ...      built-in datasets\n"},
    {"convert",
     "  convert MODEL OUT_DIR [--heads N] [--storage float32|float16|int8]\n"
     "                                    write any loadable model in Prisma's own format\n"},
    {"export",
     "  export MODEL OUT_DIR --format hf|timm [--heads N]\n"
     "                                    an upload-ready Hugging Face / timm folder, or the reason not\n"},
    {"bench",
     "  bench load MODEL | --make DIR     peak memory of loading MODEL / write a ViT-B/16-sized model\n"},
    {"patch",
     "  patch MODEL --clean SPEC --corrupt SPEC --component NAME --out OUT.safetensors|.csv\n"
     "        [--metric logit_diff [--labels A,B] | --metric prob|logit|cross_entropy [--label A]\n"
     "         | --metric cosine_to_clean] [--classes FILE|imagenet [--template T]]\n"
     "        [--normalize] [--method exact|attribution] [--positions P,...] [--batch N]\n"
     "                                    activation / attribution patching sweep of one component\n"},
    {"patch-dataset",
     "  patch-dataset MODEL --pairs PAIRS.csv --component NAME --out OUT.safetensors [patch's metric options]\n"
     "        [--nproc N | --rank R --world-size W --master-addr HOST --master-port P] [--timeout-s S]\n"
     "                                    the sweep over every clean,corrupt pair: mean and per-pair grids\n"},
    {"attention",
     "  attention MODEL --image SPEC (--layer L --head H | --grid | --rollout | --relevancy CLASS)\n"
     "        [--query cls|ROW,COL] [--png OUT.png] [--out OUT.safetensors|.csv]\n"
     "                                    attention / rollout / relevancy heatmaps over the image\n"},
    {"lens",
     "  lens MODEL --image SPEC --out OUT.csv|.safetensors  logit lens per patch and layer\n"},
    {"bench",
     "  bench patch [--batch N] [--sample N] [--reps N] [--threads N] [--batch-scan]\n"
     "                                    exact patching sweeps (TransformerLens way vs fast) and attribution\n"},
    {"train",
     "  train --preset NAME [--out DIR] [--layers N] [--attn-only] [--init SCHEME] [--max-steps S]\n"
     "        [--lr X] [--weight-decay X] [--eval-batches N] [--set SECTION.FIELD=VALUE]... [--resume DIR]\n"
     "        [--nproc N | --rank R --world-size W --master-addr HOST --master-port P] [--timeout-s S]\n"
     "                                    train or fine-tune a ViT from a preset; logs, checkpoints, model card\n"
     "                                    (prisma train --help: every option)\n"},
    {"bench",
     "  bench train [--preset NAME]... [--steps N] [--reps N] [--batch B] [--quick]\n"
     "                                    training throughput (images/s) of the induction and mnist presets\n"},
    {"zoo",
     "  zoo list [--markdown] [--manifest FILE] | zoo build [--only NAME]... [--out RUNS_DIR] [--mice DIR]\n"
     "        [--manifest FILE]\n"
     "                                    the ViT mice zoo: shipped metrics / reproducible training\n"},
    {"eval",
     "  eval MODEL --dataset NAME [--split test|train]  accuracy and top-5 on a whole split\n"},
    {"sae",
     "  sae info|encode|train|eval|features|top ...\n"
     "                                    sparse autoencoders: describe, run over images, train on a hook,\n"
     "                                    evaluate (L0, explained variance, loss recovered), feature databases;\n"
     "                                    `prisma sae --help`\n"},
    {"bench",
     "  bench sae-train [--steps N] [--reps N] [--save-activations FILE.npy] | bench feature-db [SAE] [--images N]\n"
     "                                    SAE training activations/s vs a plain loop; feature-database time, memory\n"},
};

const char* const kUsageHeader = "usage: prisma COMMAND [ARGS]\n";
const char* const kArgumentsHelp =
    "MODEL: a model folder or file, or mouse:NAME (a bundled mouse, e.g. mouse:induction-2L)\n"
    "SPEC: an image file, FILE.safetensors:KEY[:INDEX] (a preprocessed [batch, C, H, W] tensor), or a\n"
    "      dataset item NAME/SPLIT/INDEX (induction/test/32)\n";

void usage(std::ostream& out) {
  out << kUsageHeader;
  for (const CommandHelp& entry : kCommandHelp) out << entry.text;
  out << kArgumentsHelp << prisma::cli::kGlobalOptionsHelp;
}

// False when COMMAND is not one of the overview's.
bool commandUsage(const std::string& command, std::ostream& out) {
  bool any = false;
  for (const CommandHelp& entry : kCommandHelp) {
    if (command != entry.command) continue;
    if (!any) out << "usage: prisma\n";
    out << entry.text;
    any = true;
  }
  if (any) out << kArgumentsHelp << prisma::cli::kGlobalOptionsHelp;
  return any;
}

// train, sae and dataset print their own, longer help.
bool wantsHelp(const std::string& command, const prisma::cli::Args& args) {
  if (command == "train" || command == "sae" || command == "dataset") return false;
  for (const std::string& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  prisma::runtime::reexecWithTunedBlasIfNeeded(argv);
  prisma::runtime::configureThreads();
  prisma::runtime::configureAllocator();

  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? kExitUsage : 0;
  }
  const std::string command = argv[1];
  if (wantsHelp(command, prisma::cli::Args(argv + 2, argv + argc)) && commandUsage(command, std::cout)) return 0;
  try {
    // --max-memory, --max-image-pixels, --accept-truncated-images: before any command reads a file.
    const prisma::cli::Args args = prisma::cli::applyGlobalOptions(prisma::cli::Args(argv + 2, argv + argc));
    if (command == "info") return prisma::cli::infoCommand(args, std::cout);
    if (command == "run") return prisma::cli::runCommand(args, std::cout);
    if (command == "tokenize") return prisma::cli::tokenizeCommand(args, std::cout);
    if (command == "bench" && !args.empty() && args[0] == "load")
      return prisma::cli::benchLoadCommand(prisma::cli::Args(args.begin() + 1, args.end()), std::cout);
    if (command == "bench" && !args.empty() && args[0] == "patch")
      return prisma::cli::benchPatchCommand(prisma::cli::Args(args.begin() + 1, args.end()), std::cout);
    if (command == "bench" && !args.empty() && args[0] == "train")
      return prisma::cli::benchTrainCommand(prisma::cli::Args(args.begin() + 1, args.end()), std::cout);
    if (command == "bench") return prisma::cli::benchCommand(args, std::cout);
    if (command == "train") return prisma::cli::trainCommand(args, std::cout);
    if (command == "zoo") return prisma::cli::zooCommand(args, std::cout);
    if (command == "eval") return prisma::cli::evalCommand(args, std::cout);
    if (command == "sae") return prisma::cli::saeCommand(args, std::cout);
    if (command == "patch") return prisma::cli::patchCommand(args, std::cout);
    if (command == "patch-dataset") return prisma::cli::patchDatasetCommand(args, std::cout);
    if (command == "attention") return prisma::cli::attentionCommand(args, std::cout);
    if (command == "lens") return prisma::cli::lensCommand(args, std::cout);
    if (command == "convert") return prisma::cli::convertCommand(args, std::cout);
    if (command == "export") return prisma::cli::exportCommand(args, std::cout);
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
