#pragma once
// Owns the worker thread and its ExplorerWorker; the GUI talks to it only through queued
// calls and receives results as signals. Stale results (an older request finishing after
// a newer one was sent) are dropped here, so views never flicker back.

#include "app/explorer/ExplorerTypes.h"

#include <QObject>
#include <QThread>

namespace prisma::app {

class ExplorerWorker;

class ExplorerController : public QObject {
  Q_OBJECT

public:
  explicit ExplorerController(QObject* parent = nullptr);
  ~ExplorerController() override;

  void loadModel(const QString& path);
  void useRandomModel(const QString& preset);
  void computeImage(const ImageRequest& request);
  bool busy() const { return pending_ > 0; }

signals:
  void modelLoaded(const prisma::app::ModelSummary& summary);
  void modelFailed(const QString& message);
  void imageComputed(const prisma::app::AttentionResult& result);
  void imageFailed(const QString& message);
  void busyChanged(bool busy);

private:
  void started();
  void finished();

  QThread thread_;
  ExplorerWorker* worker_ = nullptr;  // lives on thread_, deleted when it finishes
  quint64 nextId_ = 1;
  quint64 latestModel_ = 0, latestImage_ = 0;
  int pending_ = 0;
};

}  // namespace prisma::app
