#pragma once
// The `prisma` sub-commands. Each takes its arguments (without the command name) and the
// output streams, and returns the process exit code.

#include <iosfwd>
#include <string>
#include <vector>

namespace prisma::cli {

using Args = std::vector<std::string>;

int infoCommand(const Args& args, std::ostream& out);
int runCommand(const Args& args, std::ostream& out);
int tokenizeCommand(const Args& args, std::ostream& out);  // CLIP's BPE ids (ClipCommands.cpp)
int benchCommand(const Args& args, std::ostream& out);
int benchLoadCommand(const Args& args, std::ostream& out);  // `bench load`
int convertCommand(const Args& args, std::ostream& out);
int exportCommand(const Args& args, std::ostream& out);

// Interpretability (model/interp): patching sweeps, attention maps, the logit lens.
int patchCommand(const Args& args, std::ostream& out);
int attentionCommand(const Args& args, std::ostream& out);
int lensCommand(const Args& args, std::ostream& out);
int benchPatchCommand(const Args& args, std::ostream& out);  // `bench patch`
int patchDatasetCommand(const Args& args, std::ostream& out);  // `patch-dataset`, data-parallel

// Training (model/train): `train` and `bench train`.
int trainCommand(const Args& args, std::ostream& out);
int benchTrainCommand(const Args& args, std::ostream& out);  // `bench train`

// The mice zoo (model/zoo): `zoo list|build` and `eval`.
int zooCommand(const Args& args, std::ostream& out);
int evalCommand(const Args& args, std::ostream& out);

// Sparse autoencoders (model/sae): `sae info|encode|train|eval`.
int saeCommand(const Args& args, std::ostream& out);
int saeTrainCommand(const Args& args, std::ostream& out);  // `sae train`
int saeEvalCommand(const Args& args, std::ostream& out);   // `sae eval`

}  // namespace prisma::cli
