#pragma once
// Model cards: the README.md written beside converted and exported weights, in the
// Hugging Face Hub's format (YAML front matter, then Markdown), so a folder can be
// uploaded as it is. It records the architecture, the preprocessing, where the weights
// came from and everything the loader had to infer or assume.

#include "model/io/ModelLoader.h"

#include <string>

namespace prisma::io {

// `library` is the layout of the folder the card describes: "prisma", "transformers" or
// "timm"; it picks the front matter and the loading snippet.
std::string modelCard(const LoadedModel& model, const std::string& library);

}  // namespace prisma::io
