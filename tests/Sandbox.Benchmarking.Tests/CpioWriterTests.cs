using System.Diagnostics;
using Sandbox.Benchmarking;

namespace Sandbox.Benchmarking.Tests;

public class CpioWriterTests
{
    [Fact]
    public void GnuCpioExtractsWhatWeWrote()
    {
        var dir = Directory.CreateTempSubdirectory("sandbox-cpio-test-");
        try
        {
            var archive = Path.Combine(dir.FullName, "a.cpio");
            using (var fs = File.Create(archive))
            using (var cpio = new CpioWriter(fs))
            {
                cpio.Directory("bin");
                cpio.File("bin/hello", "#!/bin/sh\necho hi\n"u8.ToArray());
                cpio.File("odd", new byte[] { 1, 2, 3 }, 0x1a4);
                cpio.Symlink("bin/sh", "busybox");
            }
            var outDir = Directory.CreateDirectory(Path.Combine(dir.FullName, "x"));
            var psi = new ProcessStartInfo("cpio", ["-idm", "--quiet", "-F", archive]) { WorkingDirectory = outDir.FullName, RedirectStandardError = true };
            using (var p = Process.Start(psi)!)
            {
                var err = p.StandardError.ReadToEnd();
                p.WaitForExit();
                Assert.True(p.ExitCode == 0, err);
            }
            Assert.Equal("#!/bin/sh\necho hi\n", File.ReadAllText(Path.Combine(outDir.FullName, "bin/hello")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                File.GetUnixFileMode(Path.Combine(outDir.FullName, "odd")));
            Assert.Equal([1, 2, 3], File.ReadAllBytes(Path.Combine(outDir.FullName, "odd")));
            Assert.Equal("busybox", new FileInfo(Path.Combine(outDir.FullName, "bin/sh")).LinkTarget);
        }
        finally { dir.Delete(true); }
    }
}
