using System.Text;

namespace Sandbox.Benchmarking;

/// <summary>Writes a cpio archive in the "newc" format the kernel unpacks as an initramfs.</summary>
public sealed class CpioWriter(Stream output) : IDisposable
{
    private long _written;
    private int _ino = 1;

    public void Directory(string name, int mode = 0x41ed /* dir 0755 */) => Entry(name, mode, []);

    public void File(string name, byte[] data, int permissions = 0x1ed /* 0755 */) => Entry(name, 0x8000 | permissions, data);

    public void Symlink(string name, string target) => Entry(name, 0xa1ff, Encoding.UTF8.GetBytes(target));

    private void Entry(string name, int mode, byte[] data)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name + "\0");
        var header = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"070701{_ino++:X8}{mode:X8}{0:X8}{0:X8}{1:X8}{0:X8}{data.Length:X8}{0:X8}{0:X8}{0:X8}{0:X8}{nameBytes.Length:X8}{0:X8}");
        Write(Encoding.ASCII.GetBytes(header));
        Write(nameBytes);
        Pad();
        Write(data);
        Pad();
    }

    private void Write(byte[] bytes)
    {
        output.Write(bytes);
        _written += bytes.Length;
    }

    private void Pad()
    {
        int pad = (int)((4 - _written % 4) % 4);
        if (pad > 0) Write(new byte[pad]);
    }

    public void Dispose()
    {
        Entry("TRAILER!!!", 0, []);
        output.Flush();
    }
}
