namespace Sandbox.Images;

/// <summary>A step of an import, for a progress display: a layer unpacked, with its size and time.</summary>
public sealed record ImportProgress(int Layer, int LayerCount, string Digest, long Bytes, TimeSpan Elapsed);
