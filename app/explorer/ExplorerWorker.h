#pragma once
// The explorer's worker: a QObject living on its own thread that owns the loaded model.
// Requests arrive as queued calls, results leave as values (DESIGN.md's one worker
// pattern); the GUI thread never runs model code. A failed load keeps the previous model.

#include "app/explorer/ExplorerTypes.h"

#include <QObject>

#include <memory>

namespace prisma::app {

class ExplorerWorker : public QObject {
  Q_OBJECT

public:
  ExplorerWorker();
  ~ExplorerWorker() override;

public slots:
  void loadModel(const QString& path, quint64 requestId);
  // Uses a model built in memory (benchmarks, tests) instead of a file.
  void useRandomModel(const QString& preset, quint64 requestId);
  void computeImage(const prisma::app::ImageRequest& request, quint64 requestId);

signals:
  void modelLoaded(const prisma::app::ModelSummary& summary, quint64 requestId);
  void modelFailed(const QString& message, quint64 requestId);
  void imageComputed(const prisma::app::AttentionResult& result);
  void imageFailed(const QString& message, quint64 requestId);

private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace prisma::app
