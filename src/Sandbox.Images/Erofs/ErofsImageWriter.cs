namespace Sandbox.Images.Erofs;

/// <summary>Writes a read-only EROFS block image of a directory tree (the micro-VM backend's root disk).</summary>
public static class ErofsImageWriter
{
    /// <summary>Writes an EROFS image of <paramref name="rootfsDirectory"/> to <paramref name="imagePath"/>.</summary>
    public static Task WriteAsync(string rootfsDirectory, string imagePath, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException("EROFS image writer not implemented yet");
}
