using Sandbox.Core;

namespace Sandbox.Images.Tests;

/// <summary>A scratch directory per test: <c>store/</c> (the sandbox root), <c>outside/</c> (a sentinel), inputs.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = Directory.CreateTempSubdirectory("sandbox-images-test-").FullName;
        Directory.CreateDirectory(StoreRoot);
    }

    public string Path { get; }
    public string StoreRoot => System.IO.Path.Combine(Path, "store");
    public string ImagesDir => System.IO.Path.Combine(StoreRoot, "images");
    public SandboxPaths Paths => new(StoreRoot);

    public ImageStore NewStore() => new(Paths);

    public string Sub(string name)
    {
        var p = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
