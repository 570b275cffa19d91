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
#include "model/io/ModelLoader.h"

#include <map>
#include <memory>
#include <typeindex>

namespace prisma::app {

struct ModelState {
  std::shared_ptr<io::LoadedModel> model;

  // A new model drops every tab's state: it was computed on the previous one.
  void setModel(std::shared_ptr<io::LoadedModel> m) {
    model = std::move(m);
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
