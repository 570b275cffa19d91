// The GUI's exports and screenshots are written atomically: a complete file or the old
// one, never a torn one. The failure is real -- a file-size limit on this process makes
// the writes fail with EFBIG, as a full disk would -- and the previous file must survive
// byte for byte with no temporary left beside it.

#include "widgets/AtomicSave.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTextStream>
#include <QtTest>

#include <csignal>
#include <sys/resource.h>

namespace {

constexpr rlim_t kTinyFileLimit = 64;  // bytes: less than any PNG header + data of the test image
constexpr int kImageSide = 64;

// Lowers RLIMIT_FSIZE for the scope; SIGXFSZ is ignored so the write fails instead of
// killing the process.
class FileSizeLimit {
public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    previous_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit tiny = saved_;
    tiny.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &tiny);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_);
  }

private:
  rlimit saved_{};
  void (*previous_)(int) = nullptr;
};

QImage noise(int side) {
  QImage image(side, side, QImage::Format_RGB32);
  quint32 state = 12345u;
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      state = state * 1664525u + 1013904223u;  // incompressible pixels: the PNG stays large
      image.setPixel(x, y, state | 0xff000000u);
    }
  return image;
}

QByteArray readAll(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

}  // namespace

class TestAtomicSave : public QObject {
  Q_OBJECT

private slots:
  void imageIsWrittenWhole() {
    QTemporaryDir dir;
    const QString path = dir.filePath("view.png");
    const QImage image = noise(kImageSide);
    QString error;
    QVERIFY2(prisma::widgets::saveImageAtomically(image, path, &error), qPrintable(error));
    QCOMPARE(QImage(path).convertToFormat(QImage::Format_RGB32), image);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"view.png"});
  }

  void failedImageKeepsThePreviousFile() {
    QTemporaryDir dir;
    const QString path = dir.filePath("view.png");
    QVERIFY(prisma::widgets::saveImageAtomically(noise(1), path));
    const QByteArray before = readAll(path);
    QString error;
    bool saved = true;
    {
      FileSizeLimit limit(kTinyFileLimit);
      saved = prisma::widgets::saveImageAtomically(noise(kImageSide), path, &error);
    }
    QVERIFY(!saved);
    QVERIFY2(error.contains(path), qPrintable(error));
    QCOMPARE(readAll(path), before);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"view.png"});
  }

  void failedTextLeavesNoFile() {
    QTemporaryDir dir;
    const QString path = dir.filePath("patching.csv");
    bool saved = true;
    {
      FileSizeLimit limit(kTinyFileLimit);
      saved = prisma::widgets::saveTextAtomically(path, [](QTextStream& out) {
        for (int i = 0; i < 1000; ++i) out << i << ",0.125\n";
      });
    }
    QVERIFY(!saved);
    QVERIFY(QDir(dir.path()).entryList(QDir::Files).isEmpty());
    QVERIFY(prisma::widgets::saveTextAtomically(path, [](QTextStream& out) { out << "layer,exact\n0,1\n"; }));
    QCOMPARE(readAll(path), QByteArray("layer,exact\n0,1\n"));
  }
};

QTEST_MAIN(TestAtomicSave)
#include "tst_atomic_save.moc"
