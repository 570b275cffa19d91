#pragma once
// The Features tab: a sparse autoencoder's features on the current image.
//
// An SAE (model/sae) rewrites one hook's activation as a sparse sum of learned feature
// directions. The tab opens an SAE for the loaded model (the one bundled with a mouse by
// default, else the last one used with that model, else the user picks one), encodes the
// current image at the SAE's hook, and shows:
// - hovering a patch: the features active there, strongest first, with their density in
//   the feature database; a click pins the patch;
// - clicking a feature: its activation over the image's patches, its density and
//   activation histogram, and its top-activating dataset images with their patch heatmaps
//   (from the database);
// - editing it: the model re-run with the SAE spliced in (error term kept) and the feature
//   scaled (0 ablates it), clean vs edited top-5.
// An SAE without a feature database (or one for another dataset or split) gets one from
// "Build database…": a background job over a dataset split, with progress and Cancel,
// written into the SAE's folder or, when that cannot be written (a bundled SAE), into the
// user's (userDatabaseRoot()), and remembered for the SAE.
// All model work is a job on the explorer's queue (app/explorer/jobs/FeatureJobs); a new
// model or image drops every result and cancels what is still pending.

#include "app/explorer/ExplorerTypes.h"
#include "app/explorer/jobs/FeatureJobs.h"

#include <QPoint>
#include <QWidget>

#include <optional>
#include <set>

class QComboBox;
class QCustomPlot;
class QDialog;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QMenu;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QStackedWidget;
class QToolButton;
class QTreeWidget;

namespace prisma::widgets {
class HeatmapView;
class TopKBars;
}  // namespace prisma::widgets

namespace prisma::app {

class ExplorerController;

class FeaturesView : public QWidget {
  Q_OBJECT

public:
  explicit FeaturesView(ExplorerController* controller, QWidget* parent = nullptr);
  ~FeaturesView() override;

  // A model was loaded: every result goes, and the SAE for it opens (see the header).
  void setModel(const ModelSummary& model);
  // The image to inspect (kept across model changes, re-encoded with the new model).
  void setImage(const ImageRequest& request);
  // Opens an SAE (folder or file) and a feature database (empty: the one last built for it
  // from this tab, else one found beside it).
  void openSae(const QString& saePath, const QString& databasePath = QString());
  // Used instead of the bundled or remembered SAE on the next setModel (screenshot mode).
  void setSaeOverride(const QString& saePath, const QString& databasePath = QString());
  // The feature selected once an image is encoded, instead of the image's strongest.
  void setInitialFeature(int feature) { initialFeature_ = feature; }

  // A patch under the mouse ((-1, -1): none) and a pinned patch (click; nullopt unpins).
  void hoverPatch(int row, int col);
  void pinPatch(std::optional<QPoint> patch);  // (col, row)
  void selectFeature(int feature);
  // Runs the edit of the selected feature with this scale (0 ablates).
  void setScale(double scale);
  void runEdit();
  // Cancels every job the tab is waiting for, a database build included (the Cancel button).
  void cancel();

  // Builds a feature database for the open SAE (what "Build database…" runs once its dialog
  // is accepted). `request.folders` and `request.model` are filled in here. When it is
  // written the tab reopens the SAE with it.
  void buildDatabase(FeatureDatabaseRequest request);
  // The dialog's defaults: the SAE's database's dataset (else its training's, else the
  // current image's), the test split, `prisma sae features`' top-k and seed.
  FeatureDatabaseRequest defaultBuildRequest() const;
  // Where a database of `dataset`/`split` for the open SAE goes: its own folder first, then
  // the user's.
  QStringList databaseFolders(const QString& dataset, const QString& split) const;
  // Databases for SAEs whose folder cannot be written: <AppDataLocation>/feature-databases.
  static QString userDatabaseRoot();
  bool building() const { return buildJob_ != 0; }
  // Asks for a training run of an SAE on `hook` (empty: the open SAE's, else the last block's
  // residual stream).
  void requestTraining(const QString& hook = QString());

  bool hasSae() const { return haveSae_; }
  const SaeSummary& sae() const { return sae_; }
  const FeatureEncoding& encoding() const { return encoding_; }
  int selectedFeature() const { return selected_; }
  double scale() const;
  // What the list shows now: the features at the hovered (or pinned) patch, or the image's
  // strongest when no patch is under the mouse.
  const QVector<ActiveFeature>& listedFeatures() const { return listed_; }
  std::optional<QPoint> listedPatch() const { return listedPatch_; }  // (col, row)
  const FeatureDetails& details() const { return details_; }
  const FeatureEditResult& editResult() const { return edit_; }
  bool busy() const { return !pending_.empty(); }
  QString placeholderText() const;
  QString message() const;

  widgets::HeatmapView* heatmapView() const { return image_; }
  QTreeWidget* featureList() const { return list_; }
  QListWidget* topImagesList() const { return topImages_; }
  QCustomPlot* histogramPlot() const { return histogram_; }
  widgets::TopKBars* cleanBars() const { return cleanBars_; }
  widgets::TopKBars* editedBars() const { return editedBars_; }
  QPushButton* cancelButton() const { return cancelButton_; }
  QPushButton* buildButton() const { return buildButton_; }
  QProgressBar* buildProgress() const { return buildBar_; }
  QToolButton* trainButton() const { return trainButton_; }
  // The build dialog, once "Build database…" has opened it (not modal to the application).
  QDialog* buildDialog() const { return buildDialog_; }

  // The SAEs opened before, most recent first (QSettings).
  static QStringList recentSaes();

signals:
  void saeOpened(const prisma::app::SaeSummary& summary);
  void imageEncoded();
  void detailsReady();
  void editReady();
  void failed(const QString& message);
  // Nothing is pending and an image is encoded (screenshot mode waits for it).
  void settled();
  void imageDropped(const prisma::app::ImageRequest& request);
  // "Train one…": the Training tab sets up an SAE run on this model's hook.
  void trainSaeRequested(const QString& modelSource, const QString& hookName);
  // A database build wrote `folder`; the SAE reopens with it.
  void databaseBuilt(const QString& folder);
  // A database build ended, however (written, failed or cancelled).
  void databaseBuildEnded();
  // A line for the main window's status bar (a build's progress).
  void statusMessage(const QString& text);

protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

private:
  template <class R>
  void post(ModelJob<R, R> job, std::function<void(const R&)> done);
  void finished(quint64 id, JobQueue::End end);
  void fail(quint64 id, const QString& message);
  void cancelPending();
  void resetResults();
  void encode();
  void showList();
  void showFeature();
  void showDetails();
  void showEdit();
  void updatePlaceholder();
  void chooseSae();
  void chooseDatabase();
  void showBuildDialog();
  void buildProgressed(qint64 done, qint64 total);
  void buildDone(const FeatureDatabaseBuilt& built);
  void updateTrainMenu();
  void rememberSae(const QString& path);
  void rememberDatabase(const QString& saePath, const QString& databasePath);
  QString rememberedDatabase(const QString& saePath) const;
  void setMessage(const QString& text, bool error = false);

  ExplorerController* controller_ = nullptr;
  ModelSummary model_;
  bool haveModel_ = false;
  SaeSummary sae_;
  bool haveSae_ = false;
  QString saeOverride_, databaseOverride_;
  ImageRequest request_;
  bool haveImage_ = false;
  FeatureEncoding encoding_;
  FeatureDetails details_;
  FeatureEditResult edit_;
  int selected_ = -1;
  int initialFeature_ = -1;
  std::optional<QPoint> hovered_, pinned_, listedPatch_;
  QVector<ActiveFeature> listed_;
  std::set<quint64> pending_;
  quint64 buildJob_ = 0;
  QString message_;
  QStringList hooks_;  // what an SAE can be trained on in the model (Train one…'s menu)

  QStackedWidget* stack_ = nullptr;
  QLabel* placeholder_ = nullptr;
  QComboBox* saeCombo_ = nullptr;
  QPushButton* openButton_ = nullptr;
  QPushButton* databaseButton_ = nullptr;
  QPushButton* buildButton_ = nullptr;
  QToolButton* trainButton_ = nullptr;
  QMenu* trainMenu_ = nullptr;
  QLabel* saeLabel_ = nullptr;
  QProgressBar* busyBar_ = nullptr;
  QProgressBar* buildBar_ = nullptr;
  QDialog* buildDialog_ = nullptr;
  QComboBox* buildDataset_ = nullptr;
  QComboBox* buildSplit_ = nullptr;
  QSpinBox* buildTopK_ = nullptr;
  QSpinBox* buildLimit_ = nullptr;
  QSpinBox* buildSeed_ = nullptr;
  QLineEdit* buildPath_ = nullptr;
  QPushButton* cancelButton_ = nullptr;
  QLabel* messageLabel_ = nullptr;
  widgets::HeatmapView* image_ = nullptr;
  QLabel* listTitle_ = nullptr;
  QTreeWidget* list_ = nullptr;
  QLabel* featureTitle_ = nullptr;
  QCustomPlot* histogram_ = nullptr;
  QListWidget* topImages_ = nullptr;
  QLabel* topNote_ = nullptr;
  QDoubleSpinBox* scale_ = nullptr;
  QPushButton* ablateButton_ = nullptr;
  QPushButton* applyButton_ = nullptr;
  widgets::TopKBars* cleanBars_ = nullptr;
  widgets::TopKBars* editedBars_ = nullptr;
  QLabel* editNote_ = nullptr;
};

}  // namespace prisma::app
