namespace Sandbox.Images.Tests;

/// <summary>The visible state of a store: index bytes, blobs, rootfs caches, and what is left in tmp/.</summary>
public sealed record StoreState(string Index, string Blobs, string Rootfs, string Temp)
{
    public static StoreState Of(string imagesDir)
    {
        string List(string sub) => Directory.Exists(Path.Combine(imagesDir, sub))
            ? string.Join(",", Directory.EnumerateFileSystemEntries(Path.Combine(imagesDir, sub)).Select(Path.GetFileName).Order())
            : "";
        var index = Path.Combine(imagesDir, "index.json");
        return new StoreState(File.Exists(index) ? File.ReadAllText(index) : "", List("blobs/sha256"), List("rootfs"), List("tmp"));
    }
}
