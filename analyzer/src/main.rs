fn main() {
    eprintln!("triton-analyze: not implemented yet");
    std::process::exit(3);
}
