namespace Sandbox.Images;

/// <summary>
/// Where things live in the store:
/// <c>blobs/sha256/HEX</c> (content), <c>index.json</c> (tags), <c>rootfs/HEX</c> (unpacked rootfs per manifest
/// digest), <c>erofs/HEX.erofs</c> (block images), <c>locks/</c> (flock files), <c>tmp/</c> (work in progress).
/// </summary>
internal sealed class StoreLayout(string root)
{
    public string Root { get; } = root;
    public string Blobs => Path.Combine(Root, "blobs", "sha256");
    public string IndexFile => Path.Combine(Root, "index.json");
    public string RootfsDir => Path.Combine(Root, "rootfs");
    public string ErofsDir => Path.Combine(Root, "erofs");
    public string Locks => Path.Combine(Root, "locks");
    public string Temp => Path.Combine(Root, "tmp");

    /// <summary><c>registries/</c>: which loopback registries answered over plain HTTP (see RegistryClient).</summary>
    public string SchemeHints => Path.Combine(Root, "registries");

    /// <summary><c>names/HEX</c>: the tags of each image, a copy of index.json's entries kept to rebuild a damaged index.</summary>
    public string NamesDir => Path.Combine(Root, "names");
    public string Names(string digest) => Path.Combine(NamesDir, Digests.Hex(digest, "image"));

    public string Blob(string digest) => Path.Combine(Blobs, Digests.Hex(digest, "blob"));
    public string Rootfs(string digest) => Path.Combine(RootfsDir, Digests.Hex(digest, "image"));
    public string Erofs(string digest) => Path.Combine(ErofsDir, Digests.Hex(digest, "image") + ".erofs");

    /// <summary>Held shared by imports and by lease acquisition, exclusively by removal and garbage collection.</summary>
    public string StoreLock => Path.Combine(Locks, "store.lock");

    /// <summary>Held exclusively around each read-modify-write of <c>index.json</c>.</summary>
    public string IndexLock => Path.Combine(Locks, "index.lock");

    /// <summary>Held shared by every lease of the image; <c>image rm</c> needs it exclusively.</summary>
    public string LeaseLock(string digest) => Path.Combine(Locks, Digests.Hex(digest, "image") + ".lease");

    /// <summary>Held exclusively while the image's rootfs or EROFS image is being built.</summary>
    public string BuildLock(string digest) => Path.Combine(Locks, Digests.Hex(digest, "image") + ".build");

    /// <summary>Held exclusively while the built-in busybox image is being built (first use of a store).</summary>
    public string BusyboxBuildLock => Path.Combine(Locks, "busybox.build");

    public void EnsureCreated()
    {
        foreach (var d in new[] { Root, Blobs, RootfsDir, ErofsDir, Locks, Temp, NamesDir })
            Directory.CreateDirectory(d);
    }
}
