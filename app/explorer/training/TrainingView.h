#pragma once
// The Training tab: pick a preset and edit it, choose the run folder, then Start / Pause /
// Resume / Stop a run on the training worker's thread while its curves, progress, log and
// checkpoints fill in. A checkpoint opens in the explorer by double-click or by the
// scrubber, so attention maps can be watched across training. An earlier run folder opens
// as the current run, the runs shown before staying beside it; a stopped run resumes and
// continues its own curves (read back from its metrics.csv, as the trainer continues its
// file). The curves are whatever the run logs (TrainingPlots).
//
// Two kinds of run: a ViT mouse from a preset (PresetForm, train::train), or a sparse
// autoencoder on a hook of a model (SaeRunForm, sae::trainSae: what `prisma sae train`
// runs, into the same run folder). A finished SAE run opens in the Features tab
// (openSaeRequested); the Features tab's "Train one..." sets up such a run (setUpSaeRun).

#include "app/explorer/training/TrainingTypes.h"

#include <QString>
#include <QVector>
#include <QWidget>

#include <functional>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QStackedWidget;
class QSystemTrayIcon;

namespace prisma::app {

class PresetForm;
class SaeRunForm;
class TrainingController;
class TrainingPlots;

class TrainingView : public QWidget {
  Q_OBJECT

public:
  explicit TrainingView(QWidget* parent = nullptr);
  ~TrainingView() override;

  // What Start trains: the Train selector's choice.
  enum class RunKind { Vit, Sae };
  void setRunKind(RunKind kind);
  RunKind runKind() const;
  // Whether the current run (started, resumed or opened) is an SAE's.
  bool currentRunIsSae() const { return currentRunSae_; }
  // The explorer's current model: the SAE form's model, unless the user typed another.
  void setCurrentModel(const QString& source);

  bool selectPreset(const QString& name);
  void setOutputDir(const QString& dir);
  QString outputDir() const;
  void setThreads(int threads);  // LibTorch threads of the worker; 0 = runtime default

  // The buttons' actions; false (with a log line) when they cannot apply now.
  bool start();
  void pause();
  bool resume();  // a paused run, or the stopped / opened run in its folder
  void stop();
  // Opens an earlier run folder: it becomes the current run (resumable) and the run shown
  // before stays overlaid. False with `error` set when it is not a readable run.
  bool openRun(const QString& dir, QString& error);

  bool running() const;
  bool paused() const;
  QString runDir() const { return runDir_; }
  const QVector<TrainingCheckpoint>& checkpoints() const { return checkpoints_; }
  int currentRun() const { return currentRun_; }

  // What Start does with a run folder that already holds a run: resume that run, train into
  // a new folder beside it, or nothing. Tests inject an answer; the default asks.
  enum class StartChoice { Resume, NewFolder, Cancel };
  void setStartQuestion(std::function<StartChoice(const QString& dir)> question) { startQuestion_ = std::move(question); }

  // Asked when the window closes during a run; true = stop the run, then close. Tests
  // inject an answer; the default asks with a message box.
  void setCloseQuestion(std::function<bool()> question) { closeQuestion_ = std::move(question); }
  // For the window's closeEvent: true = close now. During a run it asks; on "stop" it
  // stops the run and emits readyToClose once the final checkpoint is written.
  bool confirmClose();

  PresetForm* form() const { return form_; }
  SaeRunForm* saeForm() const { return saeForm_; }
  QPushButton* openInFeaturesButton() const { return openInFeatures_; }
  QLabel* saeSummary() const { return saeSummary_; }
  TrainingPlots* plots() const { return plots_; }
  TrainingController* controller() const { return controller_; }
  QListWidget* checkpointList() const { return checkpointList_; }
  QSlider* checkpointScrubber() const { return scrubber_; }
  QProgressBar* progressBar() const { return progress_; }
  QPlainTextEdit* logPanel() const { return log_; }
  const TrainingStatus& lastStatus() const { return status_; }

public slots:
  // The SAE form on `modelSource` and `hookName` (empty: the model's default hook), the
  // Train selector on "Sparse autoencoder"; nothing starts. Ignored during a run.
  void setUpSaeRun(const QString& modelSource, const QString& hookName);

signals:
  // A finished SAE run's folder (it holds the SAE) and the model it was trained on, for
  // the Features tab.
  void openSaeRequested(const QString& saeDir, const QString& modelSource);
  void openModelRequested(const QString& path);
  void statusMessage(const QString& message);
  void runFinished(const prisma::app::TrainingOutcome& outcome);
  void readyToClose();

private:
  QWidget* createSidePanel();
  QWidget* createMainPanel();
  void choosePreset(int index);
  void showRunPreset(const QString& dir, const QString& name);
  void chooseOutputDir();
  void chooseRunToOpen();
  void updateButtons();
  void showSaeSummary();
  void onStatus(const TrainingStatus& status);
  void onCheckpoint(const TrainingCheckpoint& checkpoint);
  void onFinished(const TrainingOutcome& outcome);
  void setCheckpoints(const QVector<TrainingCheckpoint>& checkpoints);
  void appendLog(const QString& line);
  void notify(const QString& message);
  bool launch(bool resume);
  bool resumeFolder(const QString& dir);
  StartChoice askAboutExistingRun(const QString& dir);
  QString freshOutputDir() const;

  TrainingController* controller_ = nullptr;
  PresetForm* form_ = nullptr;
  SaeRunForm* saeForm_ = nullptr;
  QComboBox* kind_ = nullptr;
  QStackedWidget* kindPages_ = nullptr;
  QPushButton* openInFeatures_ = nullptr;
  QLabel* saeSummary_ = nullptr;
  TrainingPlots* plots_ = nullptr;
  QComboBox* presets_ = nullptr;
  QLineEdit* output_ = nullptr;
  QSpinBox* threads_ = nullptr;
  QPushButton* startButton_ = nullptr;
  QPushButton* pauseButton_ = nullptr;
  QPushButton* resumeButton_ = nullptr;
  QPushButton* stopButton_ = nullptr;
  QPushButton* openRunButton_ = nullptr;
  QLabel* startProblem_ = nullptr;
  QCheckBox* logScale_ = nullptr;
  QSlider* smoothing_ = nullptr;
  QLabel* smoothingLabel_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QPlainTextEdit* log_ = nullptr;
  QListWidget* checkpointList_ = nullptr;
  QSlider* scrubber_ = nullptr;
  QLabel* scrubberLabel_ = nullptr;
  QSystemTrayIcon* tray_ = nullptr;

  QString runDir_;
  bool outputEdited_ = false;  // the user chose the folder: no fresh default on Start
  int currentRun_ = -1;        // index in plots_
  bool canResume_ = false;
  bool currentRunSae_ = false;
  bool closeAfterStop_ = false;
  QVector<TrainingCheckpoint> checkpoints_;
  TrainingStatus status_;
  std::function<bool()> closeQuestion_;
  std::function<StartChoice(const QString&)> startQuestion_;
  // What a Start replaced, restored when that run fails before logging anything.
  struct Before {
    bool valid = false;
    QString runDir;
    int currentRun = -1;
    bool canResume = false;
    bool sae = false;
    QVector<TrainingCheckpoint> checkpoints;
  } beforeStart_;
};

}  // namespace prisma::app
