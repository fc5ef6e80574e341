namespace Sandbox.Images;

/// <summary>What an import path holds.</summary>
internal enum ImportSourceKind
{
    OciLayout,
    OciArchive,
    DockerArchive,
    RootfsTarball,
    RootfsDirectory,
}
