#pragma once
// What the jobs on the explorer's model thread share: the loaded model, and what tabs keep
// beside it (the patching board's clean / corrupted pair), found by type so that a new tab
// adds its state without adding a field here. Only the model thread touches a ModelState.
//
// Everything is held by shared_ptr: an interactive job may run at a checkpoint of a long
// sweep (JobQueue.h) and replace the model or a tab's state; the sweep keeps its own
// references, so nothing it reads is freed under it. Its results are stale by then and
// dropped on the GUI side.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "model/clip/ZeroShot.h"
#include "model/io/ModelLoader.h"

#include <map>
#include <memory>
#include <string>
#include <typeindex>

namespace prisma::app {

struct ModelState {
  std::shared_ptr<io::LoadedModel> model;
  // A CLIP's two towers when the model is one (`model` is its image tower, sharing the
  // HookedViT); null otherwise. Zero-shot heads are built from its text tower.
  std::shared_ptr<clip::ClipModel> clip;
  std::shared_ptr<const clip::ZeroShotHead> zero_shot_head;  // the head `model` carries, if any
  bool clip_process_weights = false;  // the load's choice, applied again after a head is installed
  // Zero-shot heads built so far, by model files + template + classes (ModelJobs.cpp):
  // kept across loads, so going back to a model or a class list costs nothing.
  std::map<std::string, std::shared_ptr<const clip::ZeroShotHead>> zero_shot_heads;

  // A new model drops every tab's state: it was computed on the previous one.
  void setModel(std::shared_ptr<io::LoadedModel> m, std::shared_ptr<clip::ClipModel> c = nullptr,
                std::shared_ptr<const clip::ZeroShotHead> head = nullptr) {
    model = std::move(m);
    clip = std::move(c);
    zero_shot_head = std::move(head);
    extras_.clear();
  }

  template <class T>
  std::shared_ptr<T> get() const {
    const auto it = extras_.find(std::type_index(typeid(T)));
    return it == extras_.end() ? nullptr : std::static_pointer_cast<T>(it->second);
  }
  template <class T>
  void set(std::shared_ptr<T> value) {
    extras_[std::type_index(typeid(T))] = std::move(value);
  }

private:
  std::map<std::type_index, std::shared_ptr<void>> extras_;
};

}  // namespace prisma::app
