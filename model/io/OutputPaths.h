#pragma once
// Keeping a command's outputs off its inputs. `prisma convert D D` would otherwise write
// D's config.json and model.safetensors over the very files it is converting, and a result
// written into a model folder changes what that folder loads as. So an output that is an
// input, lies inside an input folder, or (for an output folder) holds an input is refused
// before anything is read or written. Paths are compared after resolving symbolic links,
// "..", and relative paths, and existing files also by identity (hard links, bind mounts).

#include <string>
#include <vector>

namespace prisma::io {

enum class OutputKind { File, Folder };

// Throws prisma::Error naming `output` and the input it would clobber.
void refuseOutputOverInputs(const std::string& output, OutputKind kind, const std::vector<std::string>& inputs);

// What loading `model` (ModelLoader's argument: a folder, a weight file, or mouse:NAME)
// reads: the folder or file itself, the model folder around a weight file (a config.json
// beside it), and a run folder's config.json for its checkpoints/model_N.pth.
std::vector<std::string> modelInputPaths(const std::string& model);

// The file an input SPEC (InputSpec.h) reads: the image, or FILE of FILE.safetensors:KEY.
std::string inputSpecPath(const std::string& spec);

}  // namespace prisma::io
